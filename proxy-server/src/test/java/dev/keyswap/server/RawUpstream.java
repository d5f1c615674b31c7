package dev.keyswap.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An upstream that answers each request with bytes written by hand: for responses no HTTP
 * library would produce (malformed framing, bodies ended by the close, bytes behind a response).
 * One thread per connection; requests on a connection are read one after another.
 */
final class RawUpstream implements AutoCloseable {
    /** The bytes to send for a request head, and whether to close the connection after them. */
    record Answer(String bytes, boolean close) {
        static Answer keep(String bytes) {
            return new Answer(bytes, false);
        }

        static Answer thenClose(String bytes) {
            return new Answer(bytes, true);
        }
    }

    private final ServerSocket server;
    private final Function<String, Answer> script;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger requests = new AtomicInteger();
    /** Each request's head and body bytes, as they arrived, in the order they arrived. */
    final List<String> received = new CopyOnWriteArrayList<>();

    private final boolean readsChunkedBodies;

    RawUpstream(Function<String, Answer> script) throws IOException {
        this(script, true);
    }

    /** @param readsChunkedBodies false to answer a chunked request at its head, before its body */
    RawUpstream(Function<String, Answer> script, boolean readsChunkedBodies) throws IOException {
        this.script = script;
        this.readsChunkedBodies = readsChunkedBodies;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::acceptLoop, "raw-upstream");
        accept.setDaemon(true);
        accept.start();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections.incrementAndGet();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "raw-upstream-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            while (true) {
                String head = readHead(in);
                if (head == null) {
                    return;
                }
                requests.incrementAndGet();
                received.add(head + (readsChunkedBodies && chunked(head) ? readChunks(in) : new String(in.readNBytes(contentLength(head)),
                        StandardCharsets.ISO_8859_1)));
                Answer a = script.apply(head);
                out.write(a.bytes().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (a.close()) {
                    return;
                }
            }
        } catch (IOException e) {
            // the test is over, or Keyswap closed the connection
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int b;
        while ((b = in.read()) >= 0) {
            head.write(b);
            matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3)) ? matched + 1 : 0;
            if (matched == 4) {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    /** A chunked body's bytes as they came: chunk lines with their extensions, data, trailer. */
    private static String readChunks(InputStream in) throws IOException {
        StringBuilder body = new StringBuilder();
        while (true) {
            String line = readLine(in);
            body.append(line);
            int size = Integer.parseInt(line.split("[;\r]", 2)[0].trim(), 16);
            if (size == 0) {
                break;
            }
            body.append(new String(in.readNBytes(size + 2), StandardCharsets.ISO_8859_1));
        }
        String line;
        do {
            line = readLine(in);
            body.append(line);
        } while (!line.equals("\r\n"));
        return body.toString();
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            line.append((char) b);
            if (b == '\n') {
                return line.toString();
            }
        }
        throw new IOException("the connection ended within a chunked body");
    }

    private static boolean chunked(String head) {
        return head.toLowerCase(Locale.ROOT).contains("\r\ntransfer-encoding: chunked\r\n");
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                return Integer.parseInt(line.substring(15).trim());
            }
        }
        return 0;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }
}
