import type { RouteConfig } from "../config/types.ts";
import type { UpstreamRuntime } from "../upstream/types.ts";
import type { RequestContext } from "../policies/context.ts";
import type { Policy } from "../policies/types.ts";

/** A route as the data plane sees it: config resolved, pipeline compiled. Immutable. */
export interface CompiledRoute {
  readonly name: string;
  readonly config: RouteConfig;
  readonly upstream: UpstreamRuntime;
  /** Every policy of the route, in request order. */
  readonly policies: readonly Policy[];
  /** Only the policies that have onRequest, in request order. */
  readonly requestHooks: readonly ((ctx: RequestContext) => Response | undefined | Promise<Response | undefined>)[];
  /** Only the policies that have onResponse, in reverse order. */
  readonly responseHooks: readonly ((ctx: RequestContext, res: Response) => Response | void)[];
}
