import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({ name: "cors", routeKeys: 'cors = { origins = ["https://app.example"] }', admits: [{}, { headers: { origin: "https://evil.example" } }] });
