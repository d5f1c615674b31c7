package dev.keyswap.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.keyswap.vault.MasterKey;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class TokenHasherTest {
    private static MasterKey key(int fill) {
        byte[] raw = new byte[32];
        Arrays.fill(raw, (byte) fill);
        return MasterKey.of(raw);
    }

    @Test
    void hashIsHmacSha256UnderThePepperDerivedFromTheMasterKey() throws Exception {
        // Stored hashes depend on this exact construction; changing it orphans every issued token.
        MasterKey master = key(7);
        byte[] pepper = master.derive("keyswap-token-pepper-v1".getBytes(StandardCharsets.US_ASCII), "keyswap token pepper", 32);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(pepper, "HmacSHA256"));
        String token = TokenFormat.newToken();

        byte[] hash = new TokenHasher(master).hash(token);

        assertEquals(32, hash.length);
        assertArrayEquals(mac.doFinal(token.getBytes(StandardCharsets.US_ASCII)), hash);
    }

    @Test
    void sameTokenAndMasterKeyAlwaysGiveTheSameHash() {
        String token = TokenFormat.newToken();
        TokenHasher hasher = new TokenHasher(key(1));
        byte[] first = hasher.hash(token);
        assertArrayEquals(first, hasher.hash(token));
        assertArrayEquals(first, new TokenHasher(key(1)).hash(token));
    }

    @Test
    void differentMasterKeysGiveDifferentHashes() {
        String token = TokenFormat.newToken();
        assertFalse(Arrays.equals(new TokenHasher(key(1)).hash(token), new TokenHasher(key(2)).hash(token)));
    }

    @Test
    void differentTokensGiveDifferentHashes() {
        TokenHasher hasher = new TokenHasher(key(1));
        assertFalse(Arrays.equals(hasher.hash(TokenFormat.newToken()), hasher.hash(TokenFormat.newToken())));
    }

    @Test
    void stringAndOtherCharSequencesHashAlike() {
        TokenHasher hasher = new TokenHasher(key(3));
        String token = TokenFormat.newToken();
        assertArrayEquals(hasher.hash(token), hasher.hash(new StringBuilder(token)));
    }

    @Test
    void inputLongerThanTheScratchBufferHashesLikeItsBytes() throws Exception {
        MasterKey master = key(4);
        byte[] pepper = master.derive("keyswap-token-pepper-v1".getBytes(StandardCharsets.US_ASCII), "keyswap token pepper", 32);
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(pepper, "HmacSHA256"));
        String longInput = "x".repeat(1000) + "é"; // non-ASCII maps to '?', as String.getBytes(US_ASCII) does

        assertArrayEquals(mac.doFinal(longInput.getBytes(StandardCharsets.US_ASCII)), new TokenHasher(master).hash(longInput));
    }

    @Test
    void concurrentHashingMatchesSingleThreadedResults() throws Exception {
        TokenHasher hasher = new TokenHasher(key(5));
        List<String> tokens = new ArrayList<>();
        List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            String token = TokenFormat.newToken();
            tokens.add(token);
            expected.add(hasher.hash(token));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int offset = t;
                tasks.add(() -> {
                    int mismatches = 0;
                    for (int round = 0; round < 20; round++) {
                        for (int i = 0; i < tokens.size(); i++) {
                            int k = (i + offset * 61) % tokens.size();
                            if (!Arrays.equals(expected.get(k), hasher.hash(tokens.get(k)))) {
                                mismatches++;
                            }
                        }
                    }
                    return mismatches;
                });
            }
            int mismatches = 0;
            for (Future<Integer> f : pool.invokeAll(tasks)) {
                mismatches += f.get();
            }
            assertEquals(0, mismatches);
        } finally {
            pool.shutdownNow();
        }
    }
}
