/** The JSON bodies of the Storage API, as upstream's route schemas accept them. */
import { z } from "zod";

const Key = z.string().min(1);

export const ListBody = z.object({
  prefix: z.string(),
  limit: z.int().min(1).optional(),
  offset: z.int().min(0).optional(),
  sortBy: z.object({
    column: z.enum(["name", "updated_at", "created_at", "last_accessed_at"]).default("name"),
    order: z.enum(["asc", "desc", "ASC", "DESC"]).default("asc"),
  }).optional(),
  search: z.string().optional(),
});
export type ListBody = z.infer<typeof ListBody>;

export const RemoveBody = z.object({
  prefixes: z.array(Key).min(1).max(1000),
});

export const MoveBody = z.object({
  bucketId: Key,
  sourceKey: Key,
  destinationKey: Key,
  destinationBucket: Key.nullish(),
});
export type MoveBody = z.infer<typeof MoveBody>;

export const CopyBody = MoveBody.extend({
  copyMetadata: z.boolean().optional(),
  metadata: z.object({
    cacheControl: z.string().optional(),
    mimetype: z.string().optional(),
  }).optional(),
});
export type CopyBody = z.infer<typeof CopyBody>;

const ExpiresIn = z.int().min(1);

export const SignBody = z.object({
  expiresIn: ExpiresIn,
  /** Image transformation options (storage-js sends them only when non-empty). */
  transform: z.record(z.string(), z.unknown()).optional(),
});

export const SignManyBody = z.object({
  expiresIn: ExpiresIn,
  paths: z.array(z.string()).min(1).max(1000),
});

const FileSizeLimit = z.union([z.int().min(0), z.string()]).nullish();
const AllowedMimeTypes = z.array(z.string()).nullish();

export const CreateBucketBody = z.object({
  name: z.string(),
  id: z.string().optional(),
  public: z.boolean().optional(),
  file_size_limit: FileSizeLimit,
  allowed_mime_types: AllowedMimeTypes,
  type: z.string().optional(),
});
export type CreateBucketBody = z.infer<typeof CreateBucketBody>;

export const UpdateBucketBody = z.object({
  public: z.boolean().optional(),
  file_size_limit: FileSizeLimit,
  allowed_mime_types: AllowedMimeTypes,
});
export type UpdateBucketBody = z.infer<typeof UpdateBucketBody>;
