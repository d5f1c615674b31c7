package dev.keyswap.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VaultTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] SECRET = "sk-fake-abcdefghijklmnopqrstuvwxyz0123456789".getBytes(StandardCharsets.UTF_8);

    private static MasterKey randomKey() {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        return MasterKey.of(raw);
    }

    private static byte[] randomPart() {
        byte[] part = new byte[32];
        RANDOM.nextBytes(part);
        return part;
    }

    private static byte[] flip(byte[] b, int index) {
        byte[] copy = b.clone();
        copy[index] ^= 0x01;
        return copy;
    }

    private final byte[] keyBytes = randomPart();
    private final MasterKey key = MasterKey.of(keyBytes);
    private final Vault vault = new Vault(List.of(key));

    @Test
    void keyIdIsSixteenHexCharactersStablePerKeyAndDistinctAcrossKeys() {
        String id = Vault.keyId(key);
        assertTrue(id.matches("[0-9a-f]{16}"), id);
        assertEquals(id, Vault.keyId(MasterKey.of(keyBytes)));
        assertNotEquals(id, Vault.keyId(randomKey()));
        assertEquals(id, vault.currentKeyId());
    }

    @Test
    void sealedSecretOpensForItsOwnActorAndRow() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        assertEquals(vault.currentKeyId(), s.keyId());
        assertEquals(12, s.nonce().length);
        assertEquals(SECRET.length + 16, s.ciphertext().length, "ciphertext plus a 128-bit tag");
        assertArrayEquals(SECRET, vault.open("act_a", "row1", s));
        assertArrayEquals(SECRET, new Vault(List.of(key)).open("act_a", "row1", s), "another instance derives the same key");
    }

    @Test
    void everySealUsesAFreshNonce() {
        Sealed a = vault.seal("act_a", "row1", SECRET);
        Sealed b = vault.seal("act_a", "row1", SECRET);
        assertFalse(Arrays.equals(a.nonce(), b.nonce()));
        assertFalse(Arrays.equals(a.ciphertext(), b.ciphertext()));
    }

    @Test
    void ciphertextDoesNotContainThePlaintext() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        assertFalse(new String(s.ciphertext(), StandardCharsets.ISO_8859_1).contains("abcdefgh"));
    }

    @Test
    void tamperedCiphertextNonceOrKeyIdFailsClosed() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        for (int i : new int[] {0, s.ciphertext().length / 2, s.ciphertext().length - 1}) {
            Sealed bad = new Sealed(s.keyId(), s.nonce(), flip(s.ciphertext(), i));
            assertThrows(VaultException.class, () -> vault.open("act_a", "row1", bad), "ciphertext byte " + i);
        }
        assertThrows(VaultException.class, () -> vault.open("act_a", "row1", new Sealed(s.keyId(), flip(s.nonce(), 5), s.ciphertext())));
        assertThrows(VaultException.class, () -> vault.open("act_a", "row1", new Sealed(s.keyId(), new byte[8], s.ciphertext())));
        assertThrows(VaultException.class, () -> vault.open("act_a", "row1",
                new Sealed(s.keyId(), s.nonce(), Arrays.copyOf(s.ciphertext(), 10))));
        VaultException e = assertThrows(VaultException.class, () -> vault.open("act_a", "row1",
                new Sealed("0123456789abcdef", s.nonce(), s.ciphertext())));
        assertTrue(e.getMessage().contains("0123456789abcdef"), e.getMessage());
    }

    @Test
    void keyIdIsBoundByTheAssociatedDataEvenWhenBothKeysAreHeld() {
        // With both keys in the ring, relabelling a row to the other key must still fail.
        MasterKey other = randomKey();
        Vault both = new Vault(List.of(key, other));
        Sealed s = both.seal("act_a", "row1", SECRET);
        assertThrows(VaultException.class, () -> both.open("act_a", "row1", new Sealed(Vault.keyId(other), s.nonce(), s.ciphertext())));
    }

    @Test
    void ciphertextMovedToAnotherRowOrActorFails() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        VaultException row = assertThrows(VaultException.class, () -> vault.open("act_a", "row2", s));
        assertTrue(row.getMessage().contains("row2"), row.getMessage());
        assertThrows(VaultException.class, () -> vault.open("act_b", "row1", s));
    }

    @Test
    void ringWithoutTheSealingKeyCannotOpen() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        Vault stranger = new Vault(List.of(randomKey()));
        VaultException e = assertThrows(VaultException.class, () -> stranger.open("act_a", "row1", s));
        assertTrue(e.getMessage().contains("not configured"), e.getMessage());
    }

    @Test
    void previousKeysInTheRingStillOpen() {
        Sealed old = vault.seal("act_a", "row1", SECRET);
        Vault rotated = new Vault(List.of(randomKey(), key));
        assertArrayEquals(SECRET, rotated.open("act_a", "row1", old));
        assertNotEquals(key, rotated.currentKeyId());
        assertEquals(rotated.currentKeyId(), rotated.seal("act_a", "row1", SECRET).keyId());
    }

    @Test
    void errorMessagesNeverCarryTheSecret() {
        Sealed s = vault.seal("act_a", "row1", SECRET);
        VaultException e = assertThrows(VaultException.class, () -> vault.open("act_b", "row1", s));
        assertFalse(e.getMessage().contains("sk-proj"), e.getMessage());
        assertEquals(null, e.getCause());
    }

    @Test
    void splitKeyOpensOnlyWithItsClientPart() {
        byte[] part = randomPart();
        Sealed s = vault.sealSplit("act_a", "pk_1", SECRET, part);
        assertArrayEquals(SECRET, vault.openSplit("act_a", "pk_1", s, part));
        assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_1", s, randomPart()));
        assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_1", s, flip(part, 0)));
        assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_1", s, new byte[0]));
        assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_2", s, part), "moved to another row");
        assertThrows(VaultException.class, () -> vault.openSplit("act_b", "pk_1", s, part), "moved to another actor");
    }

    @Test
    void databaseAndMasterKeyAloneCannotOpenASplitKey() {
        byte[] part = randomPart();
        Sealed s = vault.sealSplit("act_a", "pk_1", SECRET, part);
        // Everything an attacker holding the database and the master key can do: strip the outer layer.
        byte[] outer = vault.open("act_a", "pk_1", s);
        String outerText = new String(outer, StandardCharsets.ISO_8859_1);
        assertFalse(outerText.contains(new String(SECRET, StandardCharsets.ISO_8859_1)), "the outer plaintext is the secret");
        assertFalse(outerText.contains("sk-proj"), "the outer plaintext reveals part of the secret");
        assertEquals(12 + SECRET.length + 16, outer.length, "the inner layer is nonce || ciphertext || tag");
        // Any client part the attacker guesses, including ones derived from what they hold, fails.
        byte[][] guesses = {randomPart(), randomPart(), new byte[32], keyBytes, Vault.keyId(key).getBytes(StandardCharsets.UTF_8),
                "act_a".getBytes(StandardCharsets.UTF_8), s.nonce()};
        for (byte[] guess : guesses) {
            assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_1", s, guess));
        }
    }

    @Test
    void resealMovesToTheCurrentKeyAndTheOldKeyAloneCanNoLongerOpen() {
        Sealed old = vault.seal("act_a", "row1", SECRET);
        byte[] part = randomPart();
        Sealed oldSplit = vault.sealSplit("act_a", "pk_1", SECRET, part);
        MasterKey newKey = randomKey();
        Vault ring = new Vault(List.of(newKey, key));

        Sealed moved = ring.reseal("act_a", "row1", old);
        Sealed movedSplit = ring.reseal("act_a", "pk_1", oldSplit);
        assertEquals(Vault.keyId(newKey), moved.keyId());
        assertEquals(Vault.keyId(newKey), movedSplit.keyId());

        Vault newOnly = new Vault(List.of(newKey));
        assertArrayEquals(SECRET, newOnly.open("act_a", "row1", moved));
        assertArrayEquals(SECRET, newOnly.openSplit("act_a", "pk_1", movedSplit, part), "reseal needs no client part");
        assertThrows(VaultException.class, () -> vault.open("act_a", "row1", moved));
        assertThrows(VaultException.class, () -> vault.openSplit("act_a", "pk_1", movedSplit, part));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "sk-proj-abcdefghijklmnopa1b2|sk-p…a1b2",
            "123456789012345678901234|1234…1234",
            "12345678901234567890123|…",
            "123456789012|…",
            "short|…",
            "''|…",
            "sk-fake-api03-very-long-key-ending-WXYZ|sk-f…WXYZ",
    })
    void maskShowsFourAndFourOnlyForLongSecrets(String secret, String masked) {
        assertEquals(masked, Vault.mask(secret));
    }

    @Test
    void maskOfNullIsAnEllipsis() {
        assertEquals("…", Vault.mask(null));
    }

    @Test
    void emptyRingIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Vault(List.of()));
    }

    @Test
    void toStringNamesOnlyTheKeyCheck() {
        assertEquals("Vault[current=" + vault.currentKeyId() + ", keys=1]", vault.toString());
    }
}
