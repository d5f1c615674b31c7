package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;

/** Reading what an embedded channel with a {@link RequestReader} handed on and wrote, as the server's handlers would. */
final class ReaderChannels {
    private ReaderChannels() {
    }

    /** The next message handed on, asking for one with {@code read()} as the relay does; null when none comes. */
    static Object next(EmbeddedChannel ch) {
        Object msg = ch.readInbound();
        if (msg == null && ch.isOpen()) {
            ch.read();
            msg = ch.readInbound();
        }
        return msg;
    }

    /** Everything written to the client so far, as text; every buffer released. */
    static String written(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }
}
