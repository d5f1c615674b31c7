package dev.keyswap.auth;

import dev.keyswap.vault.MasterKey;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Tokens are stored only as HMAC-SHA256(pepper, token), so a copy of the database alone cannot be
 * brute-forced offline. The pepper was first derived from the master key ({@link #pepperFor});
 * it is now stored sealed in the vault (VaultKeys), so rotating the master key keeps every token
 * valid. Thread-safe; hot path.
 */
public final class TokenHasher {
    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] PEPPER_SALT = "keyswap-token-pepper-v1".getBytes(StandardCharsets.US_ASCII);
    private static final String PEPPER_INFO = "keyswap token pepper";
    /** Tokens are 53 characters; longer input is hashed in chunks, so a huge header cannot grow the scratch. */
    private static final int SCRATCH_BYTES = 128;

    private final Mac prototype;
    // One Mac per thread: Mac is stateful and not thread-safe, and Mac.getInstance per call costs a
    // provider lookup. FastThreadLocal is an array index on Netty event loop threads.
    private final FastThreadLocal<PerThread> perThread = new FastThreadLocal<>() {
        @Override
        protected PerThread initialValue() {
            return new PerThread(newMac());
        }
    };

    /** Same hashes as {@code new TokenHasher(pepperFor(masterKey))}. */
    public TokenHasher(MasterKey masterKey) {
        this(pepperFor(masterKey), true);
    }

    /** @param pepper the stored token pepper (32 bytes); copied, the caller's array is left alone */
    public TokenHasher(byte[] pepper) {
        this(pepper.clone(), true);
    }

    /** The pepper a master key has always given: what a database created by it stores. */
    public static byte[] pepperFor(MasterKey masterKey) {
        return masterKey.derive(PEPPER_SALT, PEPPER_INFO, 32);
    }

    /** @param pepper owned by this call and wiped at the end ({@code owned} only tells this constructor apart) */
    private TokenHasher(byte[] pepper, boolean owned) {
        if (pepper.length != 32) {
            Arrays.fill(pepper, (byte) 0);
            throw new IllegalArgumentException("a token pepper is 32 bytes, got " + pepper.length);
        }
        try {
            prototype = Mac.getInstance(ALGORITHM);
            prototype.init(new SecretKeySpec(pepper, ALGORITHM));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(ALGORITHM + " is unavailable in this JVM", e);
        } finally {
            Arrays.fill(pepper, (byte) 0);
        }
    }

    /** 32-byte keyed hash of the token's characters (US-ASCII). */
    public byte[] hash(CharSequence token) {
        PerThread state = perThread.get();
        Mac mac = state.mac;
        byte[] scratch = state.scratch;
        mac.reset(); // in case an earlier call on this thread died half-way
        int length = token.length();
        for (int start = 0; start < length; start += SCRATCH_BYTES) {
            int n = Math.min(SCRATCH_BYTES, length - start);
            for (int i = 0; i < n; i++) {
                char c = token.charAt(start + i);
                scratch[i] = c < 0x80 ? (byte) c : (byte) '?'; // what String.getBytes(US_ASCII) does
            }
            mac.update(scratch, 0, n);
        }
        return mac.doFinal();
    }

    /** The prototype is keyed once and never updated, so concurrent clones only read it. */
    private Mac newMac() {
        try {
            return (Mac) prototype.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(ALGORITHM + " provider does not support cloning", e);
        }
    }

    private static final class PerThread {
        final Mac mac;
        final byte[] scratch = new byte[SCRATCH_BYTES];

        PerThread(Mac mac) {
            this.mac = mac;
        }
    }
}
