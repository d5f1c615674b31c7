package dev.keyswap.vault;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts tenants' secrets at rest. Holds a ring of master keys: the first seals, all open, so
 * during a rotation rows under the old and the new key are both readable. Per-actor data keys
 * are HKDF-derived and cached; plaintext is never cached.
 */
public final class Vault {
    static final int NONCE_BYTES = 12;
    static final int TAG_BITS = 128;
    private static final String CIPHER = "AES/GCM/NoPadding";
    private static final byte[] KEY_CHECK_SALT = "keyswap-key-check".getBytes(StandardCharsets.UTF_8);
    private static final String KEY_CHECK_LABEL = "keyswap key check v1";
    private static final String ACTOR_SALT_PREFIX = "keyswap-actor:";
    private static final String SECRET_INFO = "keyswap secret v1";
    private static final String SPLIT_SALT_PREFIX = "keyswap-split:";
    private static final byte[] SPLIT_INFO = "keyswap split v1".getBytes(StandardCharsets.UTF_8);
    /** Bounds memory, not correctness: an evicted data key is simply derived again. */
    private static final int CACHED_DATA_KEYS = 100_000;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Key id to master key, the current key first; insertion order is the ring's order. */
    private final Map<String, MasterKey> ring;
    private final String currentKeyId;
    private final Cache<DataKeyId, SecretKey> dataKeys = Caffeine.newBuilder().maximumSize(CACHED_DATA_KEYS)
            .executor(Runnable::run) // bookkeeping on the caller's thread, no wake-up of a pool thread (see TokenCache)
            .build();

    private record DataKeyId(String keyId, String actorId) {
    }

    /** @param ring master keys, the current one first */
    public Vault(List<MasterKey> ring) {
        if (ring == null || ring.isEmpty()) {
            throw new IllegalArgumentException("the vault needs at least one master key");
        }
        Map<String, MasterKey> byId = new LinkedHashMap<>();
        for (MasterKey k : ring) {
            byId.putIfAbsent(keyId(k), k); // the same key listed twice is harmless
        }
        this.ring = byId;
        this.currentKeyId = byId.keySet().iterator().next();
    }

    /** The key check value of a master key: names it in stored rows without revealing it. */
    public static String keyId(MasterKey key) {
        byte[] checkKey = key.derive(KEY_CHECK_SALT, KEY_CHECK_LABEL, 32);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(checkKey, "HmacSHA256"));
            byte[] check = mac.doFinal(KEY_CHECK_LABEL.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(check, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e);
        } finally {
            Arrays.fill(checkKey, (byte) 0);
        }
    }

    public String currentKeyId() {
        return currentKeyId;
    }

    /** The ids of every master key held, the current one first. */
    public Set<String> keyIds() {
        return java.util.Collections.unmodifiableSet(ring.keySet());
    }

    public Sealed seal(String actorId, String rowId, byte[] plaintext) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        SecretKey key = dataKey(currentKeyId, actorId);
        try {
            Cipher c = Cipher.getInstance(CIPHER);
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(aad(actorId, rowId, currentKeyId));
            return new Sealed(currentKeyId, nonce, c.doFinal(plaintext));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(CIPHER + " failed to encrypt", e);
        }
    }

    /** @throws VaultException when tampered, moved, or sealed under a key not in the ring */
    public byte[] open(String actorId, String rowId, Sealed sealed) {
        if (sealed == null || sealed.keyId() == null || !ring.containsKey(sealed.keyId())) {
            throw new VaultException("the secret of row " + rowId + " was sealed under master key "
                    + (sealed == null ? "(none)" : sealed.keyId()) + ", which is not configured (vault.master_key, vault.previous_master_keys)");
        }
        if (sealed.nonce() == null || sealed.nonce().length != NONCE_BYTES || sealed.ciphertext() == null
                || sealed.ciphertext().length < TAG_BITS / 8) {
            throw new VaultException("the secret of row " + rowId + " is malformed");
        }
        SecretKey key = dataKey(sealed.keyId(), actorId);
        try {
            Cipher c = Cipher.getInstance(CIPHER);
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed.nonce()));
            c.updateAAD(aad(actorId, rowId, sealed.keyId()));
            return c.doFinal(sealed.ciphertext());
        } catch (AEADBadTagException e) {
            // No cause chained: nothing about the bytes is worth carrying, and nothing secret may be.
            throw new VaultException("the secret of row " + rowId + " cannot be opened: it was tampered with or belongs to another row or actor");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(CIPHER + " failed to decrypt", e);
        }
    }

    /**
     * BYOK split key: sealed twice, inside under a key derived from the client part alone, outside
     * under the master-derived key (so rotation can re-seal it). The database plus the master key
     * cannot open it without the client part.
     */
    public Sealed sealSplit(String actorId, String rowId, byte[] secret, byte[] clientPart) {
        byte[] inner = innerSeal(actorId, rowId, secret, clientPart);
        try {
            return seal(actorId, rowId, inner);
        } finally {
            Arrays.fill(inner, (byte) 0);
        }
    }

    /** @throws VaultException for a wrong client part or a tampered row */
    public byte[] openSplit(String actorId, String rowId, Sealed sealed, byte[] clientPart) {
        byte[] inner = open(actorId, rowId, sealed);
        try {
            if (inner.length < NONCE_BYTES + TAG_BITS / 8) {
                throw new VaultException("the split key " + rowId + " is malformed");
            }
            SecretKeySpec key = splitKey(actorId, clientPart);
            Cipher c = Cipher.getInstance(CIPHER);
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, inner, 0, NONCE_BYTES));
            c.updateAAD(splitAad(actorId, rowId));
            return c.doFinal(inner, NONCE_BYTES, inner.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new VaultException("the split key " + rowId + " cannot be opened with this client part");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(CIPHER + " failed to decrypt", e);
        } finally {
            Arrays.fill(inner, (byte) 0);
        }
    }

    /** Re-seals under the current key (rotation); the plaintext never leaves this call. */
    public Sealed reseal(String actorId, String rowId, Sealed sealed) {
        byte[] plaintext = open(actorId, rowId, sealed);
        try {
            return seal(actorId, rowId, plaintext);
        } finally {
            Arrays.fill(plaintext, (byte) 0);
        }
    }

    /**
     * "sk-p…a1b2": enough to recognise a secret, never enough to use it. Secrets under 24
     * characters show only "…": four and four of a 12-character one left a third of it to guess.
     */
    public static String mask(String secret) {
        if (secret == null) {
            return "…";
        }
        int points = secret.codePointCount(0, secret.length());
        if (points < 24) {
            return "…";
        }
        int headEnd = secret.offsetByCodePoints(0, 4);
        int tailStart = secret.offsetByCodePoints(secret.length(), -4);
        return secret.substring(0, headEnd) + "…" + secret.substring(tailStart);
    }

    /** nonce || ciphertext under a key only the client part yields. */
    private static byte[] innerSeal(String actorId, String rowId, byte[] secret, byte[] clientPart) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher c = Cipher.getInstance(CIPHER);
            c.init(Cipher.ENCRYPT_MODE, splitKey(actorId, clientPart), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(splitAad(actorId, rowId));
            byte[] out = new byte[NONCE_BYTES + c.getOutputSize(secret.length)];
            System.arraycopy(nonce, 0, out, 0, NONCE_BYTES);
            c.doFinal(secret, 0, secret.length, out, NONCE_BYTES);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(CIPHER + " failed to encrypt", e);
        }
    }

    /** Derived per call, never cached: a cache would hold a key equivalent to the client part. */
    private static SecretKeySpec splitKey(String actorId, byte[] clientPart) {
        if (clientPart == null || clientPart.length == 0) {
            throw new VaultException("a split key needs its client part");
        }
        byte[] raw = MasterKey.hkdfSha256(clientPart, (SPLIT_SALT_PREFIX + actorId).getBytes(StandardCharsets.UTF_8), SPLIT_INFO, 32);
        try {
            return new SecretKeySpec(raw, "AES");
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private SecretKey dataKey(String keyId, String actorId) {
        return dataKeys.get(new DataKeyId(keyId, actorId), id -> {
            byte[] raw = ring.get(id.keyId()).derive((ACTOR_SALT_PREFIX + id.actorId()).getBytes(StandardCharsets.UTF_8), SECRET_INFO, 32);
            try {
                return new SecretKeySpec(raw, "AES");
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        });
    }

    /** Binds a ciphertext to its actor, row and master key: copied anywhere else, it fails to open. */
    private static byte[] aad(String actorId, String rowId, String keyId) {
        return ("keyswap:v1|" + actorId + "|" + rowId + "|" + keyId).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] splitAad(String actorId, String rowId) {
        return ("keyswap-split:v1|" + actorId + "|" + rowId).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Vault[current=" + currentKeyId + ", keys=" + ring.size() + "]";
    }
}
