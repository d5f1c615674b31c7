package dev.keyswap.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * SQLite's native library, copied out of the jar once rather than at every start. Left to itself,
 * sqlite-jdbc writes the library to java.io.tmpdir under a new name each time it loads and then
 * compares the copy with the jar's byte by byte: ~250 ms of interpreted code on one CPU, every
 * start. The launcher has this copy made next to the jar at each build and points the driver at
 * it ({@code -Dorg.sqlite.lib.path}); a directory without the library makes the driver fall back
 * to its own way.
 */
public final class SqliteNativeLibrary {
    private SqliteNativeLibrary() {
    }

    /**
     * Writes this platform's library into {@code dir}, under the name the driver looks for there.
     * Written under a temporary name and renamed, so a reader never sees half a library.
     *
     * @throws IOException when the jar has no library for this platform or it cannot be written
     */
    public static Path extractTo(Path dir) throws IOException {
        String name = LibraryLoaderUtil.getNativeLibName();
        String resource = LibraryLoaderUtil.getNativeLibResourcePath() + "/" + name;
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        Path tmp = Files.createTempFile(dir, name, ".tmp");
        try (InputStream in = org.sqlite.JDBC.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("sqlite-jdbc has no native library for this platform at " + resource);
            }
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
