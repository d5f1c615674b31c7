package dev.keyswap.usage;

/** Response bodies as the providers send them (ids shortened), for the extractor tests. */
final class ProviderBodies {
    private ProviderBodies() {
    }

    static final String JSON = "application/json";
    static final String SSE = "text/event-stream";

    static final String OPENAI_CHAT_JSON = """
            {
              "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
              "object": "chat.completion",
              "created": 1741569952,
              "model": "gpt-4o-2024-08-06",
              "choices": [
                {
                  "index": 0,
                  "message": {
                    "role": "assistant",
                    "content": "Use \\"model\\": \\"gpt-3.5\\" in your config. \u00e9\u4e2d\ud83d\ude00",
                    "tool_calls": [{"id": "call_1", "type": "function",
                      "function": {"name": "set", "arguments": "{\\"model\\":\\"davinci\\"}"}}],
                    "refusal": null,
                    "annotations": []
                  },
                  "logprobs": null,
                  "finish_reason": "stop"
                }
              ],
              "usage": {
                "prompt_tokens": 19,
                "completion_tokens": 10,
                "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                  "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
              },
              "service_tier": "default",
              "system_fingerprint": "fp_fc9f1d7035"
            }
            """;

    static final String OPENAI_CHAT_SSE = """
            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}

            data: [DONE]

            """;

    static final String OPENAI_RESPONSES_JSON = """
            {"id":"resp_67ccd2bed1ec8190b14f964abc054267","object":"response","created_at":1741476542,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_67ccd2bf17f0819081ff3bb2cf6508e6","status":"completed","role":"assistant","content":[{"type":"output_text","text":"In a peaceful grove beneath a silver moon...","annotations":[]}]}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"pick","parameters":{"type":"object","properties":{"model":{"type":"string"},"usage":{"type":"object"}}}}],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123},"user":null,"metadata":{}}
            """;

    static final String OPENAI_RESPONSES_SSE = """
            event: response.created
            data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}

            event: response.in_progress
            data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}

            event: response.output_text.delta
            data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi there!"}

            event: response.output_text.done
            data: {"type":"response.output_text.done","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hi there!"}

            event: response.completed
            data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}],"usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":0},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":48}}}

            """;

    static final String ANTHROPIC_JSON = """
            {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"I'll switch it."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"configure","input":{"model":"gpt-3.5-turbo","usage":{"input_tokens":999999,"output_tokens":999999}}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":503,"service_tier":"standard"}}
            """;

    static final String ANTHROPIC_SSE = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

    static final String GEMINI_JSON = """
            {
              "candidates": [
                {
                  "content": {"parts": [{"text": "Ask for \\"modelVersion\\": 1."}], "role": "model"},
                  "finishReason": "STOP",
                  "index": 0
                }
              ],
              "usageMetadata": {
                "promptTokenCount": 8,
                "candidatesTokenCount": 12,
                "totalTokenCount": 52,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
                "thoughtsTokenCount": 32
              },
              "modelVersion": "gemini-2.5-flash",
              "responseId": "mkFXaJDgL5mVkdUPk9b0wQk"
            }
            """;

    private static final String GEMINI_CHUNK_1 = """
            {"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"totalTokenCount": 9,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.0-flash","responseId": "x1"}""";
    private static final String GEMINI_CHUNK_2 = """
            {"candidates": [{"content": {"parts": [{"text": " quick brown fox."}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 20,"totalTokenCount": 29,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}]},"modelVersion": "gemini-2.0-flash","responseId": "x1"}""";
    private static final String GEMINI_CHUNK_3 = """
            {"candidates": [{"content": {"parts": [{"text": ""}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": 40,"totalTokenCount": 49,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 9}],"candidatesTokensDetails": [{"modality": "TEXT","tokenCount": 40}]},"modelVersion": "gemini-2.0-flash","responseId": "x1"}""";

    /** streamGenerateContent?alt=sse: Gemini ends its lines with CRLF. */
    static final String GEMINI_SSE = ("data: " + GEMINI_CHUNK_1 + "\r\n\r\n"
            + "data: " + GEMINI_CHUNK_2 + "\r\n\r\n"
            + "data: " + GEMINI_CHUNK_3 + "\r\n\r\n");

    /** streamGenerateContent without alt=sse: one JSON array, one element per chunk. */
    static final String GEMINI_JSON_ARRAY = "[" + GEMINI_CHUNK_1 + ",\r\n" + GEMINI_CHUNK_2 + ",\r\n" + GEMINI_CHUNK_3 + "]";

    static final String OPENAI_EMBEDDINGS_JSON = """
            {
              "object": "list",
              "data": [{"object": "embedding", "index": 0, "embedding": [-0.006929283, -0.005336422, 0.0045, 1.5e-7]}],
              "model": "text-embedding-3-small",
              "usage": {"prompt_tokens": 5, "total_tokens": 5}
            }
            """;
}
