/**
 * Credentials the upstream must not see: `[auth] strip_authorization` and
 * `[auth] strip_api_key` (the API-key header and, with `api_key_query`, that
 * query parameter; Kong's hide_credentials). They apply to every route; a
 * config with neither compiles no hook at all.
 */
import { removeQueryParam } from "../../auth/index.ts";
import { definePolicy, type Policy } from "../types.ts";

export const credentials = definePolicy<void>({
  name: "credentials",
  create(_route, _setup, config): Policy | null {
    const a = config.auth;
    if (!a.strip_authorization && !a.strip_api_key) return null;
    const header = a.strip_api_key ? a.api_key_header : null;
    const query = a.strip_api_key ? a.api_key_query : null;
    const authorization = a.strip_authorization;
    return {
      name: "credentials",
      onUpstreamRequest(_ctx, draft) {
        if (authorization) draft.removeHeader("authorization");
        if (header !== null) draft.removeHeader(header);
        if (query !== null && draft.query !== "") draft.query = removeQueryParam(draft.query, query);
      },
    };
  },
});
