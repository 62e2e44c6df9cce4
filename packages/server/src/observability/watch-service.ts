// The Admin.WatchStatus handler: subscribes a gRPC server stream to the node's WatchHub.
import { status as GrpcStatus, type ServerWritableStream } from '@grpc/grpc-js';
import type { WatchStatusRequest, WatchStatusResponse } from '@raftkv/proto';
import type { WatchHub } from './watch-hub.js';

export function watchStatusHandler(hub: WatchHub): (call: ServerWritableStream<WatchStatusRequest, WatchStatusResponse>) => void {
  return (call) => {
    let closed = false;
    const sub = hub.subscribe(call.request, {
      write: (msg) => (closed ? true : call.write(msg)),
      drop: (reason) => {
        if (closed) return;
        closed = true;
        call.emit('error', { code: GrpcStatus.RESOURCE_EXHAUSTED, details: reason });
      },
    });
    const done = (): void => {
      closed = true;
      sub.close();
    };
    call.on('drain', () => sub.drained());
    call.on('cancelled', done);
    call.on('close', done);
    call.on('finish', done);
    call.on('error', done);
  };
}
