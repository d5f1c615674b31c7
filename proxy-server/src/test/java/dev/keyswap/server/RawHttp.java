package dev.keyswap.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** One client connection speaking HTTP/1.1 by hand: for keep-alive, Expect and framing tests. */
final class RawHttp implements AutoCloseable {
    final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    /** @param chunks how many chunks a chunked body came in (0 for any other framing) */
    record Response(int status, Map<String, String> headers, String body, int chunks) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    RawHttp(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    void send(String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** Reads one response (Content-Length, chunked, or to end of stream). */
    Response read() throws IOException {
        return read(false);
    }

    /** Reads the response to a HEAD request: a head, never a body, whatever its framing fields say. */
    Response readHeadResponse() throws IOException {
        return read(true);
    }

    /** Everything until the server closes the connection, as text. */
    String readToClose() throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    }

    private Response read(boolean headOnly) throws IOException {
        String statusLine = line();
        if (statusLine == null) {
            throw new IOException("connection closed before a response");
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        Map<String, String> headers = new LinkedHashMap<>();
        String l;
        while ((l = line()) != null && !l.isEmpty()) {
            int colon = l.indexOf(':');
            headers.merge(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim(), (a, b) -> a + ", " + b);
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int chunks = 0;
        if (headOnly || status / 100 == 1 || status == 204 || status == 304) {
            return new Response(status, headers, "", 0);
        }
        if (headers.containsKey("content-length")) {
            long n = Long.parseLong(headers.get("content-length"));
            for (long i = 0; i < n; i++) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("body ended early");
                }
                body.write(b);
            }
        } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            while (true) {
                String sizeLine = line();
                int size = Integer.parseInt(sizeLine.split(";", 2)[0].trim(), 16); // extensions ignored
                if (size == 0) {
                    while (!line().isEmpty()) {
                        // trailers
                    }
                    break;
                }
                chunks++;
                for (int i = 0; i < size; i++) {
                    body.write(in.read());
                }
                String end = line();
                if (!"".equals(end)) {
                    throw new IOException("a chunk of " + size + " bytes is not followed by CRLF but by: " + end);
                }
            }
        } else {
            in.transferTo(body);
        }
        return new Response(status, headers, body.toString(StandardCharsets.UTF_8), chunks);
    }

    /** True when the server has closed the connection (reads end of stream). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            if (b == '\n') {
                int len = sb.length();
                return len > 0 && sb.charAt(len - 1) == '\r' ? sb.substring(0, len - 1) : sb.toString();
            }
            sb.append((char) b);
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
