package dev.keyswap.server;

import dev.keyswap.server.config.ConfigLoader;
import dev.keyswap.store.SqliteNativeLibrary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code keyswap cds-training}: the training run behind the launcher's class-data archive
 * (docs/performance.md, "Start-up"). On one CPU most of a start is loading, verifying and linking
 * some 5,000 classes; the launcher runs this once per build under
 * {@code -XX:ArchiveClassesAtExit} and every later start maps those classes from the archive.
 *
 * <p>It walks the paths a first start and its first requests take, on a throwaway directory:
 * {@code keys create} (config, master key file, migrations on a new database), then a start on
 * a loopback port (an up-to-date database, vault, listener), {@code /healthz}, one request relayed
 * to a stub upstream, and a drain. Not in the usage text: the launcher runs it, not operators.
 *
 * <p>With {@code --sqlite-lib-dir DIR} it first copies SQLite's native library there (see
 * {@link SqliteNativeLibrary}) and trains with the driver loading it from there, as later runs
 * will.
 */
final class CdsTraining {
    private static final int TIMEOUT_MS = 30_000;

    private final PrintStream err;

    CdsTraining(PrintStream err) {
        this.err = err;
    }

    /** @param sqliteLibDir where to put SQLite's native library for later runs, or null */
    int run(Path sqliteLibDir) throws IOException, InterruptedException {
        if (sqliteLibDir != null) {
            try {
                SqliteNativeLibrary.extractTo(sqliteLibDir);
                System.setProperty("org.sqlite.lib.path", sqliteLibDir.toString());
            } catch (IOException e) {
                // Later runs then let the driver copy the library out itself, as it does by default.
                err.println("keyswap: cds-training: cannot copy SQLite's native library to " + sqliteLibDir + ": " + e.getMessage());
            }
        }
        Path dir = Files.createTempDirectory("keyswap-cds-training-");
        try (ServerSocket upstream = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            upstream.setSoTimeout(TIMEOUT_MS);
            Thread stub = new Thread(() -> answerOnce(upstream), "cds-training-upstream");
            stub.setDaemon(true);
            stub.start();
            Path config = dir.resolve("keyswap.yaml");
            Files.writeString(config, String.join("\n",
                    "server:",
                    "  host: 127.0.0.1",
                    "  port: 0",
                    "  drain_timeout: 1s",
                    "storage:",
                    "  url: jdbc:sqlite:" + dir.resolve("keyswap.db"),
                    "vault:",
                    "  master_key_file: " + dir.resolve("master.key"),
                    "providers:",
                    "  openai:",
                    "    base_url: http://127.0.0.1:" + upstream.getLocalPort(),
                    "    api_key: sk-cds-training",
                    ""));
            // Not the operator's master key: this throwaway database gets its own key file.
            Map<String, String> env = new HashMap<>(System.getenv());
            env.remove("KEYSWAP_MASTER_KEY");

            ByteArrayOutputStream tokenOut = new ByteArrayOutputStream();
            int created = new Cli(new PrintStream(tokenOut, true, StandardCharsets.UTF_8), err, env)
                    .run(new String[] {"keys", "create", "--name", "cds-training", "--config", config.toString()});
            if (created != 0) {
                return created;
            }
            String token = tokenOut.toString(StandardCharsets.UTF_8).lines().findFirst().orElse("");

            try (Keyswap keyswap = Keyswap.start(ConfigLoader.load(config, true, env), env)) {
                String health = statusLine(keyswap.port(), "GET /healthz HTTP/1.1\r\n");
                String relayed = statusLine(keyswap.port(), "GET /openai/v1/models HTTP/1.1\r\nAuthorization: Bearer " + token + "\r\n");
                keyswap.proxy().connector().tls(); // its classes into the archive too: built after the listener binds
                keyswap.drainAndClose();
                if (!health.startsWith("HTTP/1.1 200") || !relayed.startsWith("HTTP/1.1 200")) {
                    err.println("keyswap: cds-training: /healthz answered '" + health + "', the relayed request '" + relayed + "'");
                    return 1;
                }
            }
            return 0;
        } finally {
            deleteTree(dir);
        }
    }

    /** One request on its own connection; returns the response's status line. */
    private static String statusLine(int port, String requestHead) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(TIMEOUT_MS);
            OutputStream out = s.getOutputStream();
            out.write((requestHead + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            int eol = response.indexOf("\r\n");
            return eol < 0 ? response : response.substring(0, eol);
        }
    }

    /** The stub upstream: one OpenAI-style JSON answer with token counts, as the usage log expects. */
    private static void answerOnce(ServerSocket upstream) {
        try (Socket s = upstream.accept()) {
            s.setSoTimeout(TIMEOUT_MS);
            InputStream in = s.getInputStream();
            int matched = 0;
            while (matched < 4) { // the request has no body: read up to the blank line
                int b = in.read();
                if (b < 0) {
                    return;
                }
                matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            byte[] body = "{\"object\":\"list\",\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}"
                    .getBytes(StandardCharsets.US_ASCII);
            OutputStream out = s.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
        } catch (IOException e) {
            // Keyswap then answers 502 and run() reports it.
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
