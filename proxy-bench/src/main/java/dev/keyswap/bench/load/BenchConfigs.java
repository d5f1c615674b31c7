package dev.keyswap.bench.load;

import java.nio.file.Path;

/**
 * The configs the bench targets run with, in one place so the load harness and
 * {@code cpu-profile.sh} measure the same Keyswap and the same nginx. The script gets them from
 * {@link #main}: {@code BenchConfigs keyswap WORK PORT UPSTREAM_PORT TRANSPORT} or
 * {@code BenchConfigs nginx WORK PORT UPSTREAM_PORT}, printed on stdout.
 */
public final class BenchConfigs {
    /** The real provider key every target sends upstream (the bench upstream checks it). */
    public static final String UPSTREAM_KEY = "sk-bench-upstream";

    private BenchConfigs() {
    }

    /** A real config: SQLite, vault, token check and usage log all on; files under {@code work}. */
    public static String keyswapYaml(Path work, int port, int upstreamPort, String transport) {
        return String.join("\n",
                "# Generated for proxy-bench: a real config; SQLite, vault, token check and usage log all on.",
                "server:",
                "  host: 127.0.0.1",
                "  port: " + port,
                "  transport: " + transport,
                "  drain_timeout: 2s",
                "storage:",
                "  url: jdbc:sqlite:" + work.resolve("keyswap.db"),
                "vault:",
                "  master_key_file: " + work.resolve("master.key"),
                "providers:",
                "  openai:",
                "    base_url: http://127.0.0.1:" + upstreamPort,
                "    api_key: " + UPSTREAM_KEY,
                "");
    }

    /** nginx doing only the header swap: one worker, upstream keep-alive, no buffering, no access log. */
    public static String nginxConf(Path work, int port, int upstreamPort) {
        Path tmp = work.resolve("nginx-tmp");
        boolean root = "root".equals(System.getProperty("user.name"));
        return String.join("\n",
                "# Generated for proxy-bench: the reference proxy does only the header swap.",
                "worker_processes 1;",
                root ? "user root;" : "",
                "pid " + work.resolve("nginx.pid") + ";",
                "error_log " + work.resolve("nginx-error.log") + " warn;",
                "worker_rlimit_nofile 65536;",
                "events { worker_connections 16384; }",
                "http {",
                "  access_log off;",
                "  client_body_temp_path " + tmp.resolve("body") + ";",
                "  proxy_temp_path " + tmp.resolve("proxy") + ";",
                "  fastcgi_temp_path " + tmp.resolve("fastcgi") + ";",
                "  uwsgi_temp_path " + tmp.resolve("uwsgi") + ";",
                "  scgi_temp_path " + tmp.resolve("scgi") + ";",
                "  client_max_body_size 0;",
                "  keepalive_requests 1000000;",
                "  keepalive_timeout 75s;",
                "  upstream bench {",
                "    server 127.0.0.1:" + upstreamPort + ";",
                "    keepalive 64;",
                "    keepalive_requests 1000000;",
                "  }",
                "  server {",
                "    listen 127.0.0.1:" + port + " backlog=4096;",
                "    location / {",
                "      proxy_pass http://bench;",
                "      proxy_http_version 1.1;",
                "      proxy_set_header Connection \"\";",
                "      proxy_set_header Authorization \"Bearer " + UPSTREAM_KEY + "\";",
                "      proxy_buffering off;",
                "      proxy_request_buffering off;",
                "      proxy_read_timeout 300s;",
                "    }",
                "  }",
                "}",
                "");
    }

    public static void main(String[] args) {
        Path work = Path.of(args[1]);
        int port = Integer.parseInt(args[2]);
        int upstreamPort = Integer.parseInt(args[3]);
        switch (args[0]) {
            case "keyswap" -> System.out.print(keyswapYaml(work, port, upstreamPort, args[4]));
            case "nginx" -> System.out.print(nginxConf(work, port, upstreamPort));
            default -> throw new IllegalArgumentException("keyswap or nginx, not " + args[0]);
        }
    }
}
