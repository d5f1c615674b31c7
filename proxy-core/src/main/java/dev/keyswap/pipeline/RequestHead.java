package dev.keyswap.pipeline;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A client's request head as {@link RequestReader} read it: its own copy of the bytes as received
 * and where each field lies in them, with what the guard and the relay need already picked out
 * (method, target, framing, keep-alive). The steps read fields from it by name; the key swap marks
 * fields dropped and adds its own ({@link #set}, {@link #add}), and the upstream's head is written
 * from the bytes and the additions ({@link #writeUpstream}). No header object is built for a
 * relayed request. Netty's decoder built an entry and two Strings per field, a third of the bytes
 * Keyswap allocated per request.
 *
 * <p>Belongs to one request for as long as it is in flight (a retry writes it again), on its
 * event loop.
 */
public final class RequestHead extends HeadFields {
    // Names the guard and the key swap recognise while the head is read, besides HeadFields' own kinds.
    static final int HOST = FIRST_OWN_KIND;
    /** Hop-by-hop (RFC 9110 section 7.6.1) besides Connection and Transfer-Encoding: never forwarded. */
    static final int HOP_BY_HOP = FIRST_OWN_KIND + 1;
    /** A place a client may put a Keyswap token or a split-key part: never forwarded. */
    static final int TOKEN_SLOT = FIRST_OWN_KIND + 2;
    /** Answered by Keyswap (Expect) or never relayed (Cookie). */
    static final int NOT_FORWARDED = FIRST_OWN_KIND + 3;
    /** Replaced by the key swap with a value of its own (Accept-Encoding, a handshake's subprotocols), so dropped with the rest in one pass. */
    static final int REPLACED = FIRST_OWN_KIND + 4;
    /** The token slots' spellings are {@link TokenExtractor}'s and {@link CredentialResolver}'s. */
    private static final FieldNames NAMES = new FieldNames(framingAndHopByHop(HOP_BY_HOP), Map.of("host", HOST,
            "expect", NOT_FORWARDED, "cookie", NOT_FORWARDED, "authorization", TOKEN_SLOT, TokenExtractor.X_API_KEY, TOKEN_SLOT,
            TokenExtractor.X_GOOG_API_KEY, TOKEN_SLOT, TokenExtractor.API_KEY, TOKEN_SLOT,
            CredentialResolver.PARTIAL_KEY_ID, TOKEN_SLOT, CredentialResolver.PARTIAL_KEY, TOKEN_SLOT),
            // A WebSocket handshake's subprotocols are read before the drop and set again without
            // the token's (WebSocketHandshake.rewriteRequest); any other request has no use for them.
            Map.of("accept-encoding", REPLACED, "sec-websocket-protocol", REPLACED));

    private static final HttpMethod[] KNOWN_METHODS = {
        HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.PATCH, HttpMethod.HEAD,
        HttpMethod.OPTIONS, HttpMethod.TRACE, HttpMethod.CONNECT,
    };
    private static final byte[] HTTP_1_1_LINE_END = ascii(" HTTP/1.1\r\n");
    private static final short CRLF = ('\r' << 8) | '\n';
    private static final int COLON_SPACE = (':' << 8) | ' ';

    HttpMethod method;
    /** The request line's method, {@code bytes[0, methodTo)}. */
    private int methodTo;
    /** The request-target as received; the guard turns an absolute-form one into origin-form. */
    String target;
    boolean http11;
    /** The request line's length, its line end included: the fields start here. */
    int fieldsFrom;

    int hosts;
    int hostField = -1;
    int contentLengths;
    /** The first Content-Length's value, or -1 when it is not a decimal number. */
    long contentLength = -1;
    int transferEncodings;
    /** The (first) Transfer-Encoding is {@code chunked} alone. */
    boolean chunked;

    /** The target the upstream gets, once the key swap set it. */
    private String upstreamTarget;
    /** Fields the key swap added, written after the kept ones. */
    private CharSequence[] addedNames;
    private String[] addedValues;
    private int added;

    RequestHead(byte[] bytes) {
        super(NAMES);
        this.bytes = bytes;
        this.length = bytes.length;
    }

    /** A whole head, read as {@link RequestReader} reads it; a malformed one throws (for tests and benchmarks). */
    static RequestHead of(String head) {
        return of(head.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** The same from a whole head's bytes, which it keeps. */
    static RequestHead of(byte[] head) {
        RequestHead h = new RequestHead(head);
        String problem = h.parse();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        return h;
    }

    /**
     * Reads the request line and the fields of {@code bytes} (one whole head, its empty line
     * included); returns what is wrong with them, or null. A request line whose version is not
     * HTTP/1.x is reported as {@link #UNSUPPORTED_VERSION}.
     */
    String parse() {
        byte[] b = bytes;
        int p = 0;
        while (p < length && HeaderBytes.token(b[p])) {
            p++;
        }
        if (p == 0 || p == length || b[p] != ' ') {
            return "the request line's method is malformed";
        }
        methodTo = p;
        method = method(b, p);
        int targetFrom = ++p;
        while (p < length && (b[p] & 0xff) > ' ' && b[p] != 0x7f) {
            p++;
        }
        if (p == targetFrom || p == length || b[p] != ' ') {
            return "the request line's target is malformed";
        }
        target = new String(b, targetFrom, p - targetFrom, StandardCharsets.ISO_8859_1);
        int versionFrom = ++p;
        if (p + 8 > length || b[p] != 'H' || b[p + 1] != 'T' || b[p + 2] != 'T' || b[p + 3] != 'P' || b[p + 4] != '/'
                || !digit(b[p + 5]) || b[p + 6] != '.' || !digit(b[p + 7])) {
            return "the request line's version is malformed";
        }
        p += 8;
        fieldsFrom = lineEnd(b, p);
        if (fieldsFrom < 0) {
            return "the request line's version is malformed";
        }
        if (b[versionFrom + 5] != '1' || (b[versionFrom + 7] != '1' && b[versionFrom + 7] != '0')) {
            return UNSUPPORTED_VERSION;
        }
        http11 = b[versionFrom + 7] == '1';
        // Fields a Connection field names are only noted here; the key swap drops them
        // with the other hop-by-hop fields (dropHopByHop).
        return parseFields(fieldsFrom);
    }

    /** What {@link #parse} reports for a version other than HTTP/1.0 and HTTP/1.1. */
    static final String UNSUPPORTED_VERSION = "unsupported version";

    private static HttpMethod method(byte[] b, int to) {
        for (HttpMethod m : KNOWN_METHODS) {
            AsciiString name = m.asciiName();
            if (name.length() == to && sameBytes(b, name)) {
                return m;
            }
        }
        return HttpMethod.valueOf(new String(b, 0, to, StandardCharsets.ISO_8859_1));
    }

    /** Methods are case-sensitive (RFC 9110 section 9.1). */
    private static boolean sameBytes(byte[] b, AsciiString name) {
        for (int i = 0; i < name.length(); i++) {
            if (b[i] != name.byteAt(i)) {
                return false;
            }
        }
        return true;
    }

    @Override
    String onField(int i) {
        switch (kind[i]) {
            case HOST -> {
                if (hosts++ == 0) {
                    hostField = i;
                }
            }
            case CONTENT_LENGTH -> {
                if (contentLengths++ == 0) {
                    contentLength = decimal(bytes, valueFrom[i], valueTo[i]);
                }
            }
            case TRANSFER_ENCODING -> {
                if (transferEncodings++ == 0) {
                    chunked = HeaderBytes.spells(bytes, valueFrom[i], valueTo[i], CHUNKED);
                }
            }
            case CONNECTION -> connectionOptions(i, false);
            default -> {
            }
        }
        return null;
    }

    HttpVersion version() {
        return http11 ? HttpVersion.HTTP_1_1 : HttpVersion.HTTP_1_0;
    }

    /** The client keeps the connection open after this request (RFC 9112 section 9.3). */
    boolean keepAlive() {
        return !connectionClose && (http11 || connectionKeepAlive);
    }

    /**
     * The next field named {@code name} at or after {@code from}, the received ones (not dropped)
     * first, then the added ones, numbered on from {@link #fields}; -1 when there is none.
     */
    private int find(CharSequence name, int from) {
        for (int i = from; i < fields; i++) {
            if (!dropped[i] && named(i, name)) {
                return i;
            }
        }
        for (int i = Math.max(0, from - fields); i < added; i++) {
            if (AsciiString.contentEqualsIgnoreCase(addedNames[i], name)) {
                return fields + i;
            }
        }
        return -1;
    }

    /** The value of the field {@link #find} numbered {@code i}. */
    private String valueAt(int i) {
        return i < fields ? value(i) : addedValues[i - fields];
    }

    /** The first value of the field named {@code name} (the fields added since included), or null. */
    public String get(CharSequence name) {
        int i = find(name, 0);
        return i < 0 ? null : valueAt(i);
    }

    /** Every value of the fields named {@code name}, in order. */
    List<String> getAll(CharSequence name) {
        List<String> values = new ArrayList<>(1);
        for (int i = find(name, 0); i >= 0; i = find(name, i + 1)) {
            values.add(valueAt(i));
        }
        return values;
    }

    boolean contains(CharSequence name) {
        return find(name, 0) >= 0;
    }

    /** Whether one of the comma-separated elements of the fields named {@code name} is {@code element}, ignoring case. */
    boolean hasElement(CharSequence name, String element) {
        for (int i = find(name, 0); i >= 0; i = find(name, i + 1)) {
            for (String e : valueAt(i).split(",")) {
                if (e.trim().equalsIgnoreCase(element)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Drops every field named {@code name}, received or added. */
    void remove(CharSequence name) {
        for (int i = 0; i < fields; i++) {
            if (!dropped[i] && named(i, name)) {
                dropped[i] = true;
            }
        }
        int kept = 0;
        for (int i = 0; i < added; i++) {
            if (!AsciiString.contentEqualsIgnoreCase(addedNames[i], name)) {
                addedNames[kept] = addedNames[i];
                addedValues[kept++] = addedValues[i];
            }
        }
        for (int i = kept; i < added; i++) {
            addedNames[i] = null;
            addedValues[i] = null;
        }
        added = kept;
    }

    /** Replaces every field named {@code name} with one of this value. */
    void set(CharSequence name, String value) {
        remove(name);
        add(name, value);
    }

    /**
     * Adds a field; refuses a name that is not a token or a value with a control character (a
     * configured header or a stored secret with a line break would otherwise split the head).
     */
    void add(CharSequence name, String value) {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c > 0xff || !HeaderBytes.token((byte) c)) {
                throw new IllegalArgumentException("a header name is not a token");
            }
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 0xff || !HeaderBytes.value((byte) c)) {
                throw new IllegalArgumentException("a header value has a control character");
            }
        }
        if (addedNames == null) {
            addedNames = new CharSequence[8];
            addedValues = new String[8];
        } else if (added == addedNames.length) {
            addedNames = Arrays.copyOf(addedNames, added * 2);
            addedValues = Arrays.copyOf(addedValues, added * 2);
        }
        addedNames[added] = name;
        addedValues[added++] = value;
    }

    /** Whether field {@code i} is named {@code name}, ignoring ASCII case. */
    private boolean named(int i, CharSequence name) {
        if (name instanceof AsciiString a) {
            return named(i, a);
        }
        int from = nameFrom[i];
        int n = nameTo[i] - from;
        if (n != name.length()) {
            return false;
        }
        for (int j = 0; j < n; j++) {
            char c = name.charAt(j);
            if (c > 0x7f || HeaderBytes.lower(bytes[from + j]) != HeaderBytes.lower(c)) {
                return false;
            }
        }
        return true;
    }

    /** Sets the request-target the upstream gets. */
    void upstreamTarget(String target) {
        this.upstreamTarget = target;
    }

    String upstreamTarget() {
        return upstreamTarget != null ? upstreamTarget : target;
    }

    /**
     * Drops, in one pass, every received field the upstream must not get: the hop-by-hop ones
     * (RFC 9110 section 7.6.1) and every field a Connection field names, every token slot, Expect
     * and Cookie, and Host, Accept-Encoding and Sec-WebSocket-Protocol (the key swap sets its own).
     */
    void dropForUpstream() {
        if (connectionNominates) {
            dropNominated();
        }
        for (int i = 0; i < fields; i++) {
            int k = kind[i];
            if (k != OTHER && k != CONTENT_LENGTH) {
                dropped[i] = true;
            }
        }
    }

    /**
     * The head the upstream gets, as HTTP/1.1: the method, the upstream target, the fields kept as
     * they came, then the added ones.
     *
     * @param bodyRoom bytes of room kept behind the head, for a small body to join it
     */
    ByteBuf writeUpstream(ByteBufAllocator alloc, int bodyRoom) {
        String t = upstreamTarget();
        ByteBuf out = alloc.directBuffer(length + t.length() + 256 + bodyRoom);
        out.writeBytes(bytes, 0, methodTo);
        out.writeByte(' ');
        ByteBufUtil.writeAscii(out, t);
        out.writeBytes(HTTP_1_1_LINE_END);
        for (int i = 0; i < fields; i++) {
            if (!dropped[i]) {
                out.writeBytes(bytes, nameFrom[i], valueTo[i] - nameFrom[i]);
                out.writeShort(CRLF);
            }
        }
        for (int i = 0; i < added; i++) {
            CharSequence name = addedNames[i];
            if (name instanceof AsciiString a) {
                ByteBufUtil.copy(a, out);
            } else {
                ByteBufUtil.writeAscii(out, name);
            }
            out.writeShort(COLON_SPACE);
            ByteBufUtil.writeAscii(out, addedValues[i]);
            out.writeShort(CRLF);
        }
        out.writeShort(CRLF);
        return out;
    }

    @Override
    public String toString() {
        return method + " " + target + (http11 ? " HTTP/1.1" : " HTTP/1.0") + " (" + fields + " fields)";
    }
}
