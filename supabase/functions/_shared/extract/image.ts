/** Images: width, height and format from the header (image-size); they have no text. */
import { imageSize } from "image-size";
import { fileFailure } from "./failure.ts";

export interface ImageFacts {
  width: number;
  height: number;
  format: string;
}

export function imageFacts(bytes: Uint8Array): ImageFacts {
  try {
    const size = imageSize(bytes);
    if (!size.width || !size.height || !size.type) throw new Error("no dimensions");
    return { width: size.width, height: size.height, format: size.type };
  } catch {
    throw fileFailure("corrupt", "The image is corrupt: its dimensions could not be read");
  }
}
