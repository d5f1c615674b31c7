package dev.keyswap.vault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The 32-byte root secret every other key is derived from. Loaded from (first present wins)
 * {@code KEYSWAP_MASTER_KEY}, the config's {@code vault.master_key}, or a key file that is
 * created on first run with mode 0600. Never printed: {@link #toString()} is masked.
 */
public final class MasterKey {
    static final int KEY_BYTES = 32;
    static final String ENV_SOURCE = "KEYSWAP_MASTER_KEY";
    static final String CONFIG_SOURCE = "vault.master_key";

    /** HKDF-SHA256 can expand to at most 255 blocks of 32 bytes (RFC 5869, section 2.3). */
    private static final int MAX_DERIVED_BYTES = 255 * 32;

    private static final Logger log = LoggerFactory.getLogger(MasterKey.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_PERMISSIONS = EnumSet.of(
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);

    private final byte[] key;

    private MasterKey(byte[] key) {
        this.key = key.clone();
    }

    /** Wraps raw key material (exactly 32 bytes). */
    public static MasterKey of(byte[] key) {
        if (key == null || key.length != KEY_BYTES) {
            throw new IllegalArgumentException(
                    "master key must be exactly " + KEY_BYTES + " bytes, got " + (key == null ? "null" : key.length));
        }
        return new MasterKey(key);
    }

    /**
     * @param fromEnv    value of KEYSWAP_MASTER_KEY, or null
     * @param fromConfig value of vault.master_key, or null/blank
     * @param keyFile    used when both are absent; created (0600, parent dirs too) when missing
     * @throws IllegalArgumentException with a message naming the source (never the value) when malformed
     */
    public static MasterKey load(String fromEnv, String fromConfig, Path keyFile) {
        if (isPresent(fromEnv)) {
            return fromEncoded(fromEnv, ENV_SOURCE);
        }
        if (isPresent(fromConfig)) {
            return fromEncoded(fromConfig, CONFIG_SOURCE);
        }
        if (keyFile == null) {
            throw new IllegalArgumentException(
                    "no master key: set " + ENV_SOURCE + ", " + CONFIG_SOURCE + " or a key file path");
        }
        return fromFile(keyFile);
    }

    /**
     * Decodes one encoded key (64 hex characters or base64) as {@link #load} does.
     *
     * @param source what to name in an error (a config key such as {@code vault.previous_master_keys[0]}); never the value
     * @throws IllegalArgumentException naming the source when blank or malformed
     */
    public static MasterKey parse(String source, String value) {
        if (!isPresent(value)) {
            throw new IllegalArgumentException(source + " is empty");
        }
        return fromEncoded(value, source);
    }

    /** HKDF-SHA256 (RFC 5869) of this key with the given salt and info label. */
    public byte[] derive(byte[] salt, String info, int length) {
        return hkdfSha256(key, salt, info.getBytes(StandardCharsets.UTF_8), length);
    }

    /** Raw HKDF, separate from {@link #derive} so RFC 5869 vectors (whose IKM is not 32 bytes) can test it. */
    static byte[] hkdfSha256(byte[] ikm, byte[] salt, byte[] info, int length) {
        if (length <= 0 || length > MAX_DERIVED_BYTES) {
            throw new IllegalArgumentException("HKDF-SHA256 output length must be 1.." + MAX_DERIVED_BYTES + ", got " + length);
        }
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(new HKDFParameters(ikm, salt, info));
        byte[] out = new byte[length];
        hkdf.generateBytes(out, 0, length);
        return out;
    }

    private static boolean isPresent(String value) {
        return value != null && !value.isBlank();
    }

    /**
     * Accepts 64 hex characters or base64 (standard or URL-safe, padding optional). Hex is tried
     * first because 64 hex characters are also valid base64 (of 48 bytes). Error messages name the
     * source only; a decoder's own message could quote the offending character, so it is not chained.
     */
    static MasterKey fromEncoded(String encoded, String source) {
        String value = encoded.strip();
        byte[] raw = isHex64(value) ? decodeHex(value) : decodeBase64(value, source);
        try {
            if (raw.length != KEY_BYTES) {
                throw new IllegalArgumentException(source + " must decode to " + KEY_BYTES + " bytes, got " + raw.length
                        + " (expected base64 or 64 hex characters)");
            }
            return new MasterKey(raw);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static boolean isHex64(String s) {
        if (s.length() != 2 * KEY_BYTES) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                return false;
            }
        }
        return true;
    }

    private static byte[] decodeHex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (Character.digit(s.charAt(2 * i), 16) << 4 | Character.digit(s.charAt(2 * i + 1), 16));
        }
        return out;
    }

    private static byte[] decodeBase64(String s, String source) {
        boolean urlSafe = s.indexOf('-') >= 0 || s.indexOf('_') >= 0;
        try {
            return (urlSafe ? Base64.getUrlDecoder() : Base64.getDecoder()).decode(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + " is neither base64 nor 64 hex characters");
        }
    }

    private static MasterKey fromFile(Path keyFile) {
        String source = keyFile.toString();
        try {
            if (Files.notExists(keyFile)) {
                MasterKey created = createKeyFile(keyFile);
                if (created != null) {
                    return created;
                }
                // Lost a creation race to another process: fall through and read its key.
            }
            warnIfShared(keyFile);
            return fromEncoded(Files.readString(keyFile, StandardCharsets.US_ASCII), source);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("master key file " + source + " disappeared while loading it", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read master key file " + source, e);
        }
    }

    /**
     * Creates the file with its permissions in the same system call (CREATE_NEW plus the POSIX
     * attribute), so there is no window in which another user could open it.
     *
     * @return the new key, or null when the file appeared meanwhile
     */
    private static MasterKey createKeyFile(Path keyFile) throws IOException {
        Path parent = keyFile.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        boolean posix = keyFile.getFileSystem().supportedFileAttributeViews().contains("posix");
        FileAttribute<?>[] attrs = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)}
                : new FileAttribute<?>[0];
        byte[] raw = new byte[KEY_BYTES];
        RANDOM.nextBytes(raw);
        byte[] encoded = (Base64.getEncoder().encodeToString(raw) + "\n").getBytes(StandardCharsets.US_ASCII);
        try (SeekableByteChannel ch = Files.newByteChannel(keyFile,
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
            ByteBuffer buf = ByteBuffer.wrap(encoded);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        } catch (FileAlreadyExistsException e) {
            return null;
        } finally {
            Arrays.fill(encoded, (byte) 0);
        }
        try {
            log.info("Created a new master key file at {}; back it up: stored secrets cannot be decrypted without it", keyFile);
            return new MasterKey(raw);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static void warnIfShared(Path keyFile) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(keyFile, PosixFileAttributeView.class);
        if (view == null) {
            return;
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        for (PosixFilePermission p : perms) {
            if (!OWNER_PERMISSIONS.contains(p)) {
                log.warn("Master key file {} is accessible to group or others ({}); run chmod 600 on it",
                        keyFile, PosixFilePermissions.toString(perms));
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "MasterKey[****]";
    }
}
