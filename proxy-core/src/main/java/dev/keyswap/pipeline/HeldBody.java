package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;

/**
 * The response body bytes of one upstream read, on their way to the client: held until the read
 * ends, then written as one piece. The decoder turns a read holding twenty SSE events into twenty
 * chunks, and each one written on its own cost the client codec's encoder three buffers (size
 * line, data, CRLF) and the pipeline a pass per buffer; they were flushed together at the read's
 * end anyway. The first piece is held as it came, later small ones are copied in with it.
 *
 * <p>When the client's response is chunked, the held bytes go out as one buffer holding the whole
 * chunk, written below the codec (which would frame it again): a piece that came alone is copied
 * into one, copied pieces are framed in place (room for the size line is kept in front of them).
 * Larger pieces, and responses that are not chunked, go through the encoder as content.
 *
 * <p>One per exchange, on its event loop; whoever holds one must {@link #write} or {@link #release}
 * it when the exchange ends.
 */
final class HeldBody {
    /** Pieces are copied together up to this size; a larger piece goes out as it is. */
    static final int COALESCE_MAX_BYTES = 16 * 1024;
    /** A piece that came alone is copied into a chunk of its own up to this size (an SSE event is far smaller). */
    static final int FRAME_COPY_MAX_BYTES = 4096;
    /** Room in front of copied bytes for their chunk's size line: up to 4 hex digits (16 KiB) and CRLF. */
    private static final int SIZE_LINE_ROOM = 6;
    private static final int CRLF = ('\r' << 8) | '\n';
    private static final byte[] HEX_DIGITS = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

    private final ChannelHandlerContext encoded;
    private final ChannelHandlerContext belowCodec;
    private boolean framingChunks;
    private ByteBuf held;
    private boolean heldIsCopy;

    /**
     * @param encoded    where content is written for the codec to frame
     * @param belowCodec where whole chunks are written, or null to leave all framing to the codec
     */
    HeldBody(ChannelHandlerContext encoded, ChannelHandlerContext belowCodec) {
        this.encoded = encoded;
        this.belowCodec = belowCodec;
    }

    /** The response head as the client will get it is chunked, with a body (as the encoder decides it). */
    void chunked(boolean chunked) {
        framingChunks = chunked && belowCodec != null;
    }

    /** Takes over the reference of a piece of the body. */
    void add(ByteBuf piece) {
        int n = piece.readableBytes();
        if (held != null && held.readableBytes() + n > COALESCE_MAX_BYTES) {
            write();
        }
        if (held == null) {
            held = piece;
            heldIsCopy = false;
            return;
        }
        try {
            if (!heldIsCopy) {
                ByteBuf copy = encoded.alloc().directBuffer(SIZE_LINE_ROOM + Math.max(held.readableBytes() + n, 1024) + 2,
                        SIZE_LINE_ROOM + COALESCE_MAX_BYTES + 2);
                copy.setIndex(SIZE_LINE_ROOM, SIZE_LINE_ROOM);
                copy.writeBytes(held);
                held.release();
                held = copy;
                heldIsCopy = true;
            }
            held.writeBytes(piece);
        } finally {
            piece.release();
        }
    }

    /** Writes what is held (not flushed). */
    void write() {
        if (held == null) {
            return;
        }
        ByteBuf out = held;
        held = null;
        int n = out.readableBytes();
        // An empty chunk would end the body: empty pieces go to the encoder, which skips them.
        if (framingChunks && n > 0 && (heldIsCopy || n <= FRAME_COPY_MAX_BYTES)) {
            belowCodec.write(heldIsCopy ? frameInPlace(out) : frameCopy(out), belowCodec.voidPromise());
        } else {
            encoded.write(new DefaultHttpContent(out), encoded.voidPromise());
        }
    }

    /** Drops what is held: the client is gone. */
    void release() {
        if (held != null) {
            held.release();
            held = null;
        }
    }

    /** Copied bytes, framed as one chunk in the room kept in front of them. */
    private static ByteBuf frameInPlace(ByteBuf data) {
        int n = data.readableBytes();
        int start = data.readerIndex() - hexDigits(n) - 2;
        data.readerIndex(start);
        data.setShort(writeHex(data, start, n), CRLF);
        data.writeShort(CRLF);
        return data;
    }

    /** A piece that came alone, copied into a new buffer as one chunk; releases the piece. */
    private ByteBuf frameCopy(ByteBuf data) {
        try {
            int n = data.readableBytes();
            ByteBuf chunk = encoded.alloc().directBuffer(hexDigits(n) + 2 + n + 2);
            chunk.writerIndex(writeHex(chunk, 0, n));
            chunk.writeShort(CRLF);
            chunk.writeBytes(data);
            chunk.writeShort(CRLF);
            return chunk;
        } finally {
            data.release();
        }
    }

    private static int hexDigits(int n) {
        return Math.max(1, (35 - Integer.numberOfLeadingZeros(n)) / 4);
    }

    /** Sets {@code n} in lowercase hex at {@code at}; the index after it. */
    private static int writeHex(ByteBuf buf, int at, int n) {
        for (int shift = 4 * (hexDigits(n) - 1); shift >= 0; shift -= 4) {
            buf.setByte(at++, HEX_DIGITS[(n >>> shift) & 0xf]);
        }
        return at;
    }
}
