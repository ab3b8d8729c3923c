/** The limiter's Redis connection: the shared factory (see src/util/redis.ts for the URL forms and failure behaviour). */
export { createRedisClient, isReady, type RedisClient } from "../../util/redis.ts";
