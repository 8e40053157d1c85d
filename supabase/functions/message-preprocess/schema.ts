/**
 * message-preprocess's input and output schemas. The public contracts live in
 * _shared/contracts/message-preprocess.ts (client apps import them from shared/).
 */
export {
  MAX_MESSAGES_PER_REQUEST,
  MESSAGE_ROLES,
  MessagePreprocessRequest,
  MessagePreprocessResponse,
  PreprocessedMessage,
  PreprocessMessage,
} from "../_shared/contracts/message-preprocess.ts";
export type { MessagePreprocessInput } from "../_shared/contracts/message-preprocess.ts";

/**
 * Largest request body: a full batch (100 messages of 32,000 characters, some escaped as JSON)
 * fits; larger bodies get 413 before they are parsed.
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
