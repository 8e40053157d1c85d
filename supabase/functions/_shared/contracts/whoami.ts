/** `whoami`'s response: the verified caller and what RLS sees for them. */
import { z } from "zod";

export const WhoamiResponse = z.object({
  user: z.object({ id: z.uuid(), email: z.string().nullable(), role: z.string() }),
  token: z.object({ issuer: z.string().nullable(), expires_at: z.number().nullable() }),
  database: z.object({ uid: z.uuid().nullable(), role: z.string() }),
});

export type WhoamiResponse = z.infer<typeof WhoamiResponse>;
