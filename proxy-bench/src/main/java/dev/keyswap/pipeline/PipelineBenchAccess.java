package dev.keyswap.pipeline;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Credential;
import java.util.List;
import java.util.Map;
import dev.keyswap.route.Provider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Benchmark-only door into package-private pipeline steps, so proxy-core need not widen its API
 * for JMH. Lives in proxy-bench under the same package name (split package on the class path).
 */
public final class PipelineBenchAccess {
    private PipelineBenchAccess() {
    }

    /** A request head as {@link RequestReader} reads it: its bytes copied out of the read, then parsed. */
    public static RequestHead readHead(byte[] received) {
        return RequestHead.of(received.clone());
    }

    /**
     * An {@link InboundRequest} as it stands when it reaches {@link CredentialStep}: created
     * by {@link RequestReader}, then routed and authenticated.
     */
    public static InboundRequest routedRequest(RequestHead head, String clientIp, String path, String rawQuery,
                                               Provider provider, String upstreamPath, ApiKey apiKey,
                                               TokenSlot tokenSlot) {
        InboundRequest r = new InboundRequest(head, "req_bench", System.nanoTime(), clientIp, true, true, path, rawQuery);
        r.provider = provider;
        r.upstreamPath = upstreamPath;
        r.apiKey = apiKey;
        r.tokenSlot = tokenSlot;
        return r;
    }

    /** {@link CredentialStep#rewrite}: the key swap on the request head, with a server key in the provider's bearer slot. */
    public static void rewrite(InboundRequest request, String credential, boolean inboundTls) {
        request.credential = new Credential(request.provider.target(), AuthType.BEARER, null, List.of(credential), 0,
                Map.of(), null, false);
        CredentialStep.rewrite(request, inboundTls);
    }

    /** {@link TokenExtractor#find}; returns the token, or null when none is present. */
    public static String findToken(RequestHead headers, String rawQuery) {
        TokenExtractor.Found f = TokenExtractor.find(headers, rawQuery, false);
        return f == null ? null : f.token();
    }

    /** {@link RequestHead#writeUpstream}: the head the upstream gets, which the caller releases. */
    public static ByteBuf upstreamHead(InboundRequest request, ByteBufAllocator alloc) {
        return request.head().writeUpstream(alloc, 0);
    }

    /**
     * An upstream response read by {@link UpstreamResponseReader} and its head written for the
     * client by {@link ClientResponseHead}, as the relay does it (the body only framed).
     */
    public static final class ResponseRelay implements UpstreamResponseReader.Listener {
        private static final ClientResponseHead.Framing FRAMING = new ClientResponseHead.Framing(true, false, false, false);
        private final UpstreamResponseReader reader = new UpstreamResponseReader(65536);
        private final InboundRequest request;
        private final ByteBufAllocator alloc;
        private ByteBuf clientHead;
        private long bodyBytes;

        public ResponseRelay(InboundRequest request, ByteBufAllocator alloc) {
            this.request = request;
            this.alloc = alloc;
        }

        /** Reads a whole response; returns the client's head, which the caller releases. */
        public ByteBuf relay(ByteBuf upstreamResponse) {
            reader.reset(false);
            reader.read(upstreamResponse, this);
            return clientHead;
        }

        public long bodyBytes() {
            return bodyBytes;
        }

        @Override
        public boolean onResponseHead(ResponseHead head, ByteBuf in, int bodyIndex) {
            clientHead = ClientResponseHead.write(alloc, head, request, FRAMING, "512.345", 0);
            return true;
        }

        @Override
        public void onBodyData(ByteBuf in, int index, int length) {
            bodyBytes += length;
        }

        @Override
        public void onResponseBytes(ByteBuf in, int index, int length) {
        }

        @Override
        public void onResponseEnd(boolean moreBytes) {
        }

        @Override
        public void onResponseMalformed(String what) {
            throw new IllegalStateException(what);
        }
    }
}
