import { runPreRouteCase } from "./pre-route.case.ts";

runPreRouteCase("metrics");
