package dev.keyswap.store;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema migrations ({@code db/migration/V<n>__<description>.sql}), applied by Flyway when
 * the database opens.
 *
 * <p>Flyway costs ~0.45 s of CPU at every start on one CPU even when there is nothing to do (its
 * plugin registry, classpath scanner and validation, and the JIT work they set off; measured with
 * proxy-bench/startup.sh), a quarter of a start. So a database whose schema history already
 * records exactly the migrations shipped here is left alone: every one applied successfully, with
 * the version, description and checksum Flyway gives it, and no other row. Anything else goes to
 * Flyway, which applies what is pending and refuses what does not match, as it always has: a
 * fresh or older database, an edited migration, a failed or foreign row, another file in the
 * directory, a history this check cannot read. The check can only decline to skip; the checksum
 * is Flyway's own (CRC32 of the lines), and a test holds the two to the same value.
 */
final class Migrations {
    private static final Logger log = LoggerFactory.getLogger(Migrations.class);
    static final String LOCATION = "db/migration";
    private static final String HISTORY = "flyway_schema_history";
    /** Flyway's versioned SQL migration: V, a version with _ or . between parts, __, a description. */
    private static final Pattern VERSIONED = Pattern.compile("V(\\d+(?:[._]\\d+)*)__(.+)\\.sql");

    private Migrations() {
    }

    /** Brings the schema up to date; throws what Flyway throws. */
    static void apply(DataSource ds) {
        if (upToDate(ds)) {
            log.info("Database schema is up to date (the schema history records every migration shipped)");
            return;
        }
        Flyway.configure()
                .dataSource(ds)
                .locations("classpath:" + LOCATION)
                .load()
                .migrate();
    }

    /** True only when the schema history records exactly the shipped migrations, all successful. */
    static boolean upToDate(DataSource ds) {
        try {
            Map<String, Applied> shipped = shipped();
            if (shipped == null || shipped.isEmpty()) {
                return false;
            }
            Map<String, Applied> recorded = new HashMap<>();
            try (Connection c = ds.getConnection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT version, description, type, script, checksum, success FROM " + HISTORY)) {
                while (rs.next()) {
                    int checksum = rs.getInt(5);
                    Applied row = new Applied(rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.wasNull() ? null : checksum, rs.getBoolean(6));
                    if (recorded.put(rs.getString(4), row) != null) {
                        return false;
                    }
                }
            }
            return recorded.equals(shipped);
        } catch (SQLException | IOException | RuntimeException e) {
            return false; // no history yet, or one this check does not understand: Flyway's turn
        }
    }

    /** Script name → the row Flyway records once it has applied it; null when not all are versioned SQL. */
    static Map<String, Applied> shipped() throws IOException {
        Map<String, Applied> migrations = new HashMap<>();
        Enumeration<URL> dirs = Migrations.class.getClassLoader().getResources(LOCATION + "/");
        while (dirs.hasMoreElements()) {
            URL dir = dirs.nextElement();
            for (String name : names(dir)) {
                Matcher m = VERSIONED.matcher(name);
                if (!m.matches()) {
                    return null; // a repeatable migration, a callback, a stray file: Flyway knows what to do
                }
                String resource = LOCATION + "/" + name;
                Applied row = new Applied(m.group(1).replace('_', '.'), m.group(2).replace('_', ' '), "SQL",
                        checksum(Objects.requireNonNull(Migrations.class.getClassLoader().getResourceAsStream(resource), resource)), true);
                if (migrations.put(name, row) != null) {
                    return null;
                }
            }
        }
        return migrations;
    }

    /** The file names directly in a directory on the class path: a directory, or a folder in a jar. */
    private static Iterable<String> names(URL dir) throws IOException {
        switch (dir.getProtocol()) {
            case "file" -> {
                try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
                    return files.map(p -> p.getFileName().toString()).toList();
                } catch (URISyntaxException e) {
                    throw new IOException(e);
                }
            }
            case "jar" -> {
                String prefix = LOCATION + "/";
                // The class loader holds this jar open, so ZipFile shares its index rather than reading it again.
                URL jar = ((JarURLConnection) dir.openConnection()).getJarFileURL();
                try (ZipFile zip = new ZipFile(Path.of(jar.toURI()).toFile())) {
                    List<String> names = new ArrayList<>();
                    for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                        String name = e.nextElement().getName();
                        if (name.startsWith(prefix) && name.length() > prefix.length()) {
                            names.add(name.substring(prefix.length()));
                        }
                    }
                    return names;
                } catch (URISyntaxException e) {
                    throw new IOException(e);
                }
            }
            default -> throw new IOException("cannot list " + dir);
        }
    }

    /** Flyway's checksum of a migration: CRC32 over its lines in UTF-8, without line breaks or BOM. */
    static int checksum(InputStream in) throws IOException {
        CRC32 crc = new CRC32();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line = reader.readLine();
            if (line != null && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            for (; line != null; line = reader.readLine()) {
                crc.update(line.getBytes(StandardCharsets.UTF_8));
            }
        }
        return (int) crc.getValue();
    }

    /** One schema history row, as far as this check compares it. */
    record Applied(String version, String description, String type, Integer checksum, boolean success) {
    }
}
