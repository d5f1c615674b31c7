package dev.keyswap.upstream;

import java.net.InetAddress;

/** A tenant's upstream resolved to an address the SSRF guard refuses; nothing was sent to it. */
public final class AddressNotAllowedException extends Exception {
    public AddressNotAllowedException(String host, InetAddress address) {
        super("upstream " + host + " resolves to " + address.getHostAddress() + ", a loopback, private, link-local or reserved address");
    }
}
