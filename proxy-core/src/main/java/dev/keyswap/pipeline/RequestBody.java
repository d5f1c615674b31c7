package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A piece of a request's body as the client sent it, chunk framing included, for the relay to pass
 * on as it came ({@link RequestReader}). {@code dataBytes}: how much of it is data (framing aside);
 * {@code last}: the body ends with this piece.
 */
final class RequestBody extends DefaultByteBufHolder {
    final int dataBytes;
    final boolean last;

    RequestBody(ByteBuf bytes, int dataBytes, boolean last) {
        super(bytes);
        this.dataBytes = dataBytes;
        this.last = last;
    }
}
