package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

/**
 * The response body bytes of one upstream read, on their way to the client: held until the read
 * ends, then written as one piece. A read holding twenty SSE events is one write, not twenty; they
 * were flushed together at the read's end anyway. The first piece is held as it came, later small
 * ones are copied in with it.
 *
 * <p>The bytes go out below the client's codec, as the relay writes the response head itself
 * ({@link ClientResponseHead}): as they are, or, when the relay frames the body as chunks (an
 * upstream body that ends at the connection's close, to an HTTP/1.1 client), as one chunk per
 * write. A piece that came alone is copied into a chunk of its own up to 4 KiB; copied pieces are
 * framed in place (room for the size line is kept in front of them); a larger piece is framed by
 * a size line and a CRLF written around it.
 *
 * <p>The response head is held here too, until the first of the body's bytes go out: when they
 * fit in the room the head's buffer was made with, they are copied in behind it, so a small
 * response leaves as one buffer. Two buffers made the transport gather them for a vectored write
 * (an entry per buffer in the outbound queue, an iovec array for the kernel to copy in); one is a
 * plain send.
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
    private static final byte[] LAST_CHUNK = {'0', '\r', '\n', '\r', '\n'};

    private final ChannelHandlerContext out;
    private boolean framingChunks;
    private ByteBuf held;
    private boolean heldIsCopy;
    /** The response head, not yet written: the body's first bytes may join it. */
    private ByteBuf head;

    /** @param out where the bytes are written: below the client's codec */
    HeldBody(ChannelHandlerContext out) {
        this.out = out;
    }

    /** Whether the body is framed as chunks here (else its bytes go out as they are). */
    void chunked(boolean chunked) {
        framingChunks = chunked;
    }

    /** Takes over the reference of the response head, to go out with the body's first bytes. */
    void head(ByteBuf responseHead) {
        head = responseHead;
    }

    /** Takes over the reference of a piece of the body. */
    void add(ByteBuf piece) {
        int n = piece.readableBytes();
        if (n == 0) {
            piece.release();
            return;
        }
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
                ByteBuf copy = out.alloc().directBuffer(SIZE_LINE_ROOM + Math.max(held.readableBytes() + n, 1024) + 2,
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
        ByteBuf responseHead = head;
        head = null;
        if (held == null) {
            if (responseHead != null) {
                out.write(responseHead, out.voidPromise());
            }
            return;
        }
        ByteBuf data = held;
        held = null;
        if (responseHead != null) {
            if (copiedSize(data.readableBytes()) <= responseHead.writableBytes()) {
                out.write(copyInto(responseHead, data), out.voidPromise());
                return;
            }
            out.write(responseHead, out.voidPromise());
        }
        if (!framingChunks) {
            out.write(data, out.voidPromise());
        } else if (heldIsCopy) {
            out.write(frameInPlace(data), out.voidPromise());
        } else if (data.readableBytes() <= FRAME_COPY_MAX_BYTES) {
            // A piece that came alone, copied into a new buffer as one chunk.
            out.write(copyInto(out.alloc().directBuffer(copiedSize(data.readableBytes())), data), out.voidPromise());
        } else {
            int n = data.readableBytes();
            ByteBuf sizeLine = out.alloc().directBuffer(hexDigits(n) + 2);
            sizeLine.writerIndex(writeHex(sizeLine, 0, n));
            sizeLine.writeShort(CRLF);
            out.write(sizeLine, out.voidPromise());
            out.write(data, out.voidPromise());
            out.write(out.alloc().directBuffer(2).writeShort(CRLF), out.voidPromise());
        }
    }

    /** Writes what is held and, when framing chunks, the last chunk that ends the body (not flushed). */
    void end() {
        write();
        if (framingChunks) {
            out.write(out.alloc().directBuffer(LAST_CHUNK.length).writeBytes(LAST_CHUNK), out.voidPromise());
        }
    }

    /** Drops what is held: the client is gone. */
    void release() {
        if (held != null) {
            held.release();
            held = null;
        }
        if (head != null) {
            head.release();
            head = null;
        }
    }

    /** The bytes {@code n} bytes of body take when copied: with their size line and CRLF when framing chunks. */
    private int copiedSize(int n) {
        return framingChunks ? hexDigits(n) + 2 + n + 2 : n;
    }

    /**
     * {@code data} copied in behind what {@code into} holds (the response head, or nothing), as
     * one chunk when framing chunks; releases {@code data}. {@code into} has room for
     * {@link #copiedSize} of it.
     */
    private ByteBuf copyInto(ByteBuf into, ByteBuf data) {
        try {
            int n = data.readableBytes();
            if (framingChunks) {
                into.writerIndex(writeHex(into, into.writerIndex(), n));
                into.writeShort(CRLF);
            }
            into.writeBytes(data);
            if (framingChunks) {
                into.writeShort(CRLF);
            }
            return into;
        } finally {
            data.release();
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
