import { runPolicyCase } from "./policy.case.ts";

// [auth] strip_authorization applies to every route: the "route that does not use it" here still has it on.
runPolicyCase({ name: "credentials", global: true, routeKeys: "", sections: "[auth]\nstrip_authorization = true", admits: [{ headers: { authorization: "Bearer x" } }] });
