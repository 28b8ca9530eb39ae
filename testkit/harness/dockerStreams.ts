/**
 * Docker's wire formats, through the libraries that own them: tar archives for uploads
 * (tar-stream) and the multiplexed stdout/stderr framing of logs and exec (docker-modem's
 * demultiplexer, the one dockerode itself ships).
 */
import { PassThrough, Readable } from "node:stream";
import * as tar from "tar-stream";

/** One regular-file archive, the way the provider builds an upload (extracted at `/`). */
export async function tarOneFile(file: string, content: Buffer, mode: number, uid = 0, gid = 0): Promise<Buffer> {
    const pack = tar.pack();
    pack.entry({ name: file.replace(/^\/+/, ""), size: content.length, mode, uid, gid, mtime: new Date() }, content);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

/** What dockerode's `modem` (on Docker, Container and Exec objects alike) offers here. */
export interface Modem {
    demuxStream(stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void;
}

/** stdout and stderr of a log or exec stream (or its bytes), interleaved as text. */
export async function demuxedText(modem: Modem, source: NodeJS.ReadableStream | Buffer): Promise<string> {
    const stream = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (c: Buffer) => chunks.push(c));
    await new Promise<void>((resolve, reject) => {
        stream.on("end", () => resolve());
        stream.on("error", reject);
        modem.demuxStream(stream, sink, sink);
    });
    return Buffer.concat(chunks).toString("utf8");
}
