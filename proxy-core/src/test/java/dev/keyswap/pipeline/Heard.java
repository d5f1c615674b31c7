package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What an {@link UpstreamResponseReader} reported, as text: for the reader's tests. */
class Heard implements UpstreamResponseReader.Listener {
    final List<Integer> statuses = new ArrayList<>();
    final List<String> keptFields = new ArrayList<>();
    /** Every field of the last final head, dropped or not, as name and value. */
    final List<Map.Entry<String, String>> fields = new ArrayList<>();
    String contentType;
    long contentLength;
    boolean chunked;
    boolean keepAlive;
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int ends;
    boolean moreBytes;
    String malformed;
    String clientHead;
    InboundRequest request;

    @Override
    public boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex) {
        statuses.add(head.status);
        fields.clear();
        for (int i = 0; i < head.fields; i++) {
            fields.add(Map.entry(new String(head.bytes, head.nameFrom[i], head.nameTo[i] - head.nameFrom[i],
                    StandardCharsets.ISO_8859_1), head.value(i)));
            if (!head.dropped[i]) {
                keptFields.add(new String(head.bytes, head.nameFrom[i], head.valueTo[i] - head.nameFrom[i],
                        StandardCharsets.ISO_8859_1));
            }
        }
        contentType = head.contentType();
        contentLength = head.contentLength;
        chunked = head.chunked;
        keepAlive = head.keepAlive();
        if (request != null) {
            ByteBuf out = ClientResponseHead.write(UnpooledByteBufAllocator.DEFAULT, head, request,
                    new ClientResponseHead.Framing(true, true, false, false), "1.500", 0);
            clientHead = out.toString(StandardCharsets.ISO_8859_1);
            out.release();
        }
        return true;
    }

    @Override
    public void onBodyData(ByteBuf in, int index, int length) {
        byte[] b = new byte[length];
        in.getBytes(index, b);
        data.writeBytes(b);
    }

    @Override
    public void onResponseBytes(ByteBuf in, int index, int length) {
        byte[] b = new byte[length];
        in.getBytes(index, b);
        bytes.writeBytes(b);
    }

    @Override
    public void onResponseEnd(boolean more) {
        ends++;
        moreBytes = more;
    }

    @Override
    public void onResponseMalformed(String what) {
        assertNull(malformed, "reported once");
        malformed = what;
    }

    String data() {
        return data.toString(StandardCharsets.ISO_8859_1);
    }

    String bytes() {
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }
}
