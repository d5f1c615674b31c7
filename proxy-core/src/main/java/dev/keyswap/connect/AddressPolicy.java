package dev.keyswap.connect;

import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The SSRF guard for tenant-supplied upstreams: a connection may not reach loopback, link-local
 * (which includes cloud metadata at 169.254.169.254), private, unique-local, multicast or
 * unspecified addresses unless the operator allows them ({@code upstream.allow_private_addresses}).
 * Checked on the resolved address right before connecting, so DNS cannot be used to slip past.
 * Operator-configured providers are trusted and not checked.
 */
public final class AddressPolicy {
    private final List<byte[][]> allowed;

    /** @param allowedCidrs addresses or CIDR blocks ("127.0.0.1", "10.0.0.0/8") that are allowed anyway */
    public AddressPolicy(List<String> allowedCidrs) {
        List<byte[][]> parsed = new ArrayList<>();
        for (String cidr : allowedCidrs) {
            parsed.add(parse(cidr));
        }
        this.allowed = List.copyOf(parsed);
    }

    public static AddressPolicy strict() {
        return new AddressPolicy(List.of());
    }

    public boolean permits(InetAddress address) {
        if (isPublic(address)) {
            return true;
        }
        byte[] bytes = address.getAddress();
        for (byte[][] block : allowed) {
            if (matches(block, bytes)) {
                return true;
            }
        }
        return false;
    }

    static boolean isPublic(InetAddress a) {
        if (a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            int first = b[0] & 0xff;
            int second = b[1] & 0xff;
            // 0/8, 100.64/10 (carrier NAT), 192.0.0/24, 198.18/15 (benchmarking), 240/4 (reserved)
            return first != 0 && !(first == 100 && second >= 64 && second < 128) && !(first == 192 && second == 0 && (b[2] & 0xff) == 0)
                    && !(first == 198 && (second == 18 || second == 19)) && first < 240;
        }
        if (a instanceof Inet6Address) {
            int first = b[0] & 0xff;
            // fc00::/7 unique-local
            if ((first & 0xfe) == 0xfc) {
                return false;
            }
            // Addresses that carry an IPv4 address are judged as that address: ::ffff:a.b.c.d
            // (mapped) and ::a.b.c.d (compatible); 64:ff9b::a.b.c.d, which a NAT64 gateway
            // (AWS's IPv6-only subnets, DNS64) turns into a.b.c.d; 2002:a.b.c.d::/48 (6to4).
            if (allZero(b, 0, 10) && (((b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) || (b[10] == 0 && b[11] == 0))) {
                return ipv4IsPublic(b, 12);
            }
            if (first == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
                // 64:ff9b:1::/48 is for a network's own NAT64 (RFC 8215), where the IPv4 address
                // can sit anywhere: refused as a whole.
                return allZero(b, 4, 12) && ipv4IsPublic(b, 12);
            }
            if (first == 0x20 && b[1] == 0x02) {
                return ipv4IsPublic(b, 2);
            }
        }
        return true;
    }

    private static boolean allZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean ipv4IsPublic(byte[] b, int at) {
        try {
            return isPublic(InetAddress.getByAddress(new byte[] {b[at], b[at + 1], b[at + 2], b[at + 3]}));
        } catch (java.net.UnknownHostException impossible) {
            return false;
        }
    }

    private static byte[][] parse(String cidr) {
        String s = cidr.trim();
        int slash = s.indexOf('/');
        byte[] ip = NetUtil.createByteArrayFromIpAddressString(slash < 0 ? s : s.substring(0, slash));
        if (ip == null) {
            throw new IllegalArgumentException("'" + cidr + "' is not an IP address or CIDR block");
        }
        int bits = slash < 0 ? ip.length * 8 : Integer.parseInt(s.substring(slash + 1));
        if (bits < 0 || bits > ip.length * 8) {
            throw new IllegalArgumentException("'" + cidr + "' has a prefix length out of range");
        }
        return new byte[][] {ip, new byte[] {(byte) bits}};
    }

    private static boolean matches(byte[][] block, byte[] address) {
        byte[] net = block[0];
        int bits = block[1][0] & 0xff;
        if (net.length != address.length) {
            return false;
        }
        for (int i = 0; i < bits; i++) {
            int mask = 0x80 >>> (i % 8);
            if ((net[i / 8] & mask) != (address[i / 8] & mask)) {
                return false;
            }
        }
        return true;
    }
}
