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
            // fc00::/7 unique-local; ::ffff:a.b.c.d is judged as the IPv4 address it maps
            if ((first & 0xfe) == 0xfc) {
                return false;
            }
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            if (mapped && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
                try {
                    return isPublic(InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]}));
                } catch (java.net.UnknownHostException impossible) {
                    return false;
                }
            }
        }
        return true;
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
