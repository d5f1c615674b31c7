package dev.keyswap.connect;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which addresses a tenant's upstream may resolve to with no allow-list: public ones only, however an inner one is spelled. */
class AddressPolicyTest {
    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource({
        "8.8.8.8, true",
        "127.0.0.1, false",
        "10.0.0.5, false",
        "169.254.169.254, false",
        "100.64.0.1, false",
        "0.0.0.0, false",
        "2606:4700::1111, true",
        "::1, false",
        "fd00::1, false",
        "fe80::1, false",
        "::ffff:10.0.0.5, false",
        "::ffff:8.8.8.8, true",
        "::10.0.0.5, false",
        // NAT64: a gateway turns 64:ff9b::a.b.c.d into a.b.c.d
        "64:ff9b::a00:5, false",
        "64:ff9b::a9fe:a9fe, false",
        "64:ff9b::808:808, true",
        "64:ff9b:1::a00:5, false",
        "64:ff9b:1::808:808, false",
        // 6to4: 2002:a.b.c.d::/48
        "2002:a00:5::1, false",
        "2002:7f00:1::1, false",
        "2002:808:808::1, true",
    })
    void onlyPublicAddressesArePermittedWithoutAnAllowList(String address, boolean permitted) throws Exception {
        assertEquals(permitted, new AddressPolicy(List.of()).permits(InetAddress.getByName(address)), address);
    }
}
