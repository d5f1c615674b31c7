package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.ConnectionDirectory;
import dev.keyswap.connect.KeyPool;
import dev.keyswap.route.CredentialSlot;
import dev.keyswap.route.Provider;
import dev.keyswap.route.ProviderCatalog;
import dev.keyswap.route.UpstreamTarget;
import dev.keyswap.store.StoreException;
import dev.keyswap.vault.VaultException;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * What a BYOK split key's lookup answers: the client's part is wrong (400, the same for every
 * way it can be wrong) or storage cannot be read (503, as for every other lookup, so a client
 * retries instead of rotating a key that is fine).
 */
class CredentialResolverTest {
    private static final Provider OPENAI = new Provider("openai", UpstreamTarget.parse("https://api.openai.com"),
            CredentialSlot.BEARER, null);
    private static final ApiKey KEY = new ApiKey("key_0000000000000001", "act_1", "test", Set.of(ApiKey.SCOPE_PROXY), Set.of(),
            false, null, null, null, Instant.now(), null, Set.of());

    private static CredentialResolver.Resolution resolveSplitKey(CompletableFuture<Optional<String>> lookup) {
        // No stored connections; the split key's lookup answers what the test says.
        ConnectionDirectory none = ConnectionDirectory.none();
        ConnectionDirectory directory = (ConnectionDirectory) Proxy.newProxyInstance(ConnectionDirectory.class.getClassLoader(),
                new Class<?>[] {ConnectionDirectory.class},
                (proxy, method, args) -> method.getName().equals("splitKey") ? lookup : method.invoke(none, args));
        CredentialResolver resolver = new CredentialResolver(directory, new ProviderCatalog(Map.of("openai", OPENAI)), new KeyPool());
        RequestHead head = RequestHead.of("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
                + "X-Partial-Key-Id: sk_1\r\nX-Partial-Key: part\r\n\r\n");
        InboundRequest request = new InboundRequest(head, "req-1", System.nanoTime(), "127.0.0.1", true, false,
                "/openai/v1/chat/completions", null);
        request.provider = OPENAI;
        request.apiKey = KEY;
        return resolver.resolve(request).join();
    }

    @Test
    void aSplitKeyThatOpensIsTheCredential() {
        CredentialResolver.Resolution r = resolveSplitKey(CompletableFuture.completedFuture(Optional.of("sk-provider")));
        assertNull(r.error());
        assertEquals("sk-provider", r.credential().secret());
    }

    @Test
    void aWrongClientPartIs400() {
        CredentialResolver.Resolution r = resolveSplitKey(CompletableFuture.failedFuture(new VaultException("wrong client part")));
        assertEquals(400, r.error().status().code());
        assertEquals("bad_split_key", r.error().code());
    }

    @Test
    void anUnknownOrRevokedSplitKeyIs400() {
        CredentialResolver.Resolution r = resolveSplitKey(CompletableFuture.completedFuture(Optional.empty()));
        assertEquals(400, r.error().status().code());
        assertEquals("bad_split_key", r.error().code());
    }

    @Test
    void storageThatCannotBeReadIs503NotTheClientsFault() {
        CredentialResolver.Resolution r = resolveSplitKey(CompletableFuture.failedFuture(new StoreException("database is locked")));
        assertEquals(503, r.error().status().code());
        assertEquals("storage_unavailable", r.error().code());
    }
}
