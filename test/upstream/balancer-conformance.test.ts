import { balancerConformance } from "./balancer.case.ts";

balancerConformance("round_robin");
balancerConformance("weighted");
balancerConformance("least_conn");
balancerConformance("least_time");
balancerConformance("ip_hash");
balancerConformance("hash", "path");
balancerConformance("hash", "header:x-user");
balancerConformance("hash", "cookie:session");
balancerConformance("hash", "query:user");
balancerConformance("random");
