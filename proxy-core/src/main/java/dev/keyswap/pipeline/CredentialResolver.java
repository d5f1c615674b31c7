package dev.keyswap.pipeline;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.AuthType;
import dev.keyswap.connect.Connection;
import dev.keyswap.connect.ConnectionDirectory;
import dev.keyswap.connect.Credential;
import dev.keyswap.connect.KeyPool;
import dev.keyswap.route.CredentialSlot;
import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;
import dev.keyswap.route.UpstreamTarget;
import dev.keyswap.vault.VaultException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which real credential a request uses (SPEC §1 step 3), in this order: for
 * {@code /proxy/{connection}/…} that connection; for {@code /{provider}/…} a BYOK split key the
 * client presented, else the token's own connection for the provider, else its actor's, else
 * the server key when the token may use it; otherwise {@code 400 credential_not_configured}.
 */
final class CredentialResolver {
    private static final Logger log = LoggerFactory.getLogger(CredentialResolver.class);
    static final String PARTIAL_KEY_ID = "x-partial-key-id";
    static final String PARTIAL_KEY = "x-partial-key";

    /** Either a credential or the error to answer with. */
    record Resolution(Credential credential, ProxyError error) {
        static Resolution of(Credential c) {
            return new Resolution(c, null);
        }

        static Resolution refuse(ProxyError e) {
            return new Resolution(null, e);
        }
    }

    private final ConnectionDirectory directory;
    private final ProviderCatalog catalog;
    private final KeyPool keyPool;

    CredentialResolver(ConnectionDirectory directory, ProviderCatalog catalog, KeyPool keyPool) {
        this.directory = directory;
        this.catalog = catalog;
        this.keyPool = keyPool;
    }

    CompletableFuture<Resolution> resolve(InboundRequest request) {
        CompletableFuture<Resolution> f = request.connectionId != null ? viaConnectionRoute(request) : viaProvider(request);
        return f.exceptionally(e -> {
            Throwable cause = unwrap(e);
            if (cause instanceof VaultException) {
                log.warn("request {}: a stored credential cannot be opened: {}", request.requestId, cause.getMessage());
                return Resolution.refuse(ProxyError.badGateway("credential_unavailable",
                        "the stored credential for this route cannot be decrypted; it must be set again"));
            }
            log.warn("request {}: credential lookup failed: {}", request.requestId, cause.toString());
            return Resolution.refuse(ProxyError.unavailable("storage_unavailable", "credential storage is unavailable; try again"));
        });
    }

    private CompletableFuture<Resolution> viaConnectionRoute(InboundRequest request) {
        ApiKey key = request.apiKey;
        boolean admin = key.hasScope(ApiKey.SCOPE_ADMIN);
        return directory.byId(request.connectionId).thenCompose(found -> {
            // Another actor's connection is indistinguishable from none: ids are not an oracle.
            if (found.isEmpty() || (!admin && !found.get().actorId().equals(key.actorId()))) {
                return done(ProxyError.notFound("unknown_connection", "unknown connection '" + ProxyError.clip(request.connectionId) + "'"));
            }
            Connection c = found.get();
            if (!admin && !key.connections().contains(c.id())) {
                return done(ProxyError.forbidden("connection_not_allowed", "the Keyswap token may not use connection '" + c.id() + "'"));
            }
            return fromConnection(c, request);
        });
    }

    private CompletableFuture<Resolution> viaProvider(InboundRequest request) {
        Provider p = request.provider;
        ApiKey key = request.apiKey;
        String partialId = request.head.get(PARTIAL_KEY_ID);
        String partial = request.head.get(PARTIAL_KEY);
        if (partialId != null || partial != null) {
            if (partialId == null || partial == null) {
                return done(ProxyError.badRequest("bad_split_key", "a split key needs both X-Partial-Key-Id and X-Partial-Key"));
            }
            // A part that does not open the key is the client's error (400, one answer for every
            // way it can be wrong); storage that cannot be read is not, and goes on to the 503
            // every other lookup answers with.
            return directory.splitKey(partialId.trim(), partial.trim(), key, p.name())
                    .handle((providerKey, error) -> {
                        Throwable cause = error == null ? null : unwrap(error);
                        if (cause != null && !(cause instanceof VaultException)) {
                            throw new CompletionException(cause);
                        }
                        if (cause != null || providerKey.isEmpty()) {
                            return Resolution.refuse(ProxyError.badRequest("bad_split_key", "the split key or its client part is not valid"));
                        }
                        return Resolution.of(providerCredential(p, request, providerKey.get()));
                    });
        }
        CompletableFuture<List<Connection>> own = directory.forProvider(key, p.name());
        return own.thenCompose(found -> {
            if (!found.isEmpty()) {
                // The first whose path rules allow this path; if none does, the first refuses it.
                Connection use = found.get(0);
                for (Connection c : found) {
                    if (pathAllowed(c.allowedPaths(), request.upstreamPath)) {
                        use = c;
                        break;
                    }
                }
                return fromConnection(use, request);
            }
            if (key.allowServerKeys() && p.serverKey() != null && !p.serverKey().isEmpty()) {
                return done(providerCredential(p, request, p.serverKey()));
            }
            return done(ProxyError.badRequest("credential_not_configured",
                    "no credential is configured for provider '" + p.name() + "' and this token"));
        });
    }

    private CompletableFuture<Resolution> fromConnection(Connection c, InboundRequest request) {
        // A connection's path rules hold however it is reached: /proxy/{id}/… or /{provider}/….
        if (!pathAllowed(c.allowedPaths(), request.upstreamPath)) {
            return done(ProxyError.forbidden("path_not_allowed", "connection '" + c.id() + "' may not be used for this path"));
        }
        UpstreamTarget target;
        boolean tenantAddress = c.baseUrl() != null;
        if (tenantAddress) {
            target = UpstreamTarget.parse(c.baseUrl());
        } else {
            Provider p = catalog.find(c.provider());
            if (p == null) {
                return done(ProxyError.badGateway("connection_misconfigured", "connection '" + c.id() + "' names an unknown provider"));
            }
            target = p.target();
        }
        request.connection = c;
        if (c.authType() == AuthType.NONE) {
            return done(new Credential(target, AuthType.NONE, null, List.of(""), 0, c.extraHeaders(), c.id(), tenantAddress));
        }
        return directory.secrets(c).thenApply(secrets -> {
            if (secrets.isEmpty()) {
                return Resolution.refuse(ProxyError.badGateway("credential_unavailable", "connection '" + c.id() + "' has no secret"));
            }
            int index = keyPool.pick(c.id(), secrets.size(), System.nanoTime());
            return Resolution.of(new Credential(target, c.authType(), c.authParam(), secrets, index, c.extraHeaders(), c.id(), tenantAddress));
        });
    }

    /** A provider's own slot, the way that provider expects its key. */
    private static Credential providerCredential(Provider p, InboundRequest request, String secret) {
        CredentialSlot slot = p.slot();
        AuthType type = AuthType.API_KEY;
        String param = slot.headerName();
        if (slot == CredentialSlot.BEARER) {
            type = AuthType.BEARER;
            param = null;
        } else if (slot == CredentialSlot.X_GOOG_API_KEY && request.tokenSlot == TokenSlot.QUERY_KEY) {
            type = AuthType.QUERY;
            param = TokenExtractor.QUERY_KEY;
        }
        return new Credential(p.target(), type, param, List.of(secret), 0, Map.of(), null, false);
    }

    /** Segment-aware prefix match: "/v1/chat" allows "/v1/chat" and "/v1/chat/x", not "/v1/chatty". */
    static boolean pathAllowed(List<String> prefixes, String path) {
        if (prefixes.isEmpty()) {
            return true;
        }
        for (String prefix : prefixes) {
            String p = prefix.endsWith("/") && prefix.length() > 1 ? prefix.substring(0, prefix.length() - 1) : prefix;
            if (p.equals("/") || path.equals(p) || (path.startsWith(p) && path.charAt(p.length()) == '/')) {
                return true;
            }
        }
        return false;
    }

    private static CompletableFuture<Resolution> done(ProxyError error) {
        return CompletableFuture.completedFuture(Resolution.refuse(error));
    }

    private static CompletableFuture<Resolution> done(Credential credential) {
        return CompletableFuture.completedFuture(Resolution.of(credential));
    }

    /** What failed, out of the CompletionException a dependent stage wraps it in. */
    private static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }
}
