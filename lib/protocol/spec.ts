// GENERATED FILE: do not edit. Made by codegen/generate.ts from
// codegen/amqp-rabbitmq-0.9.1.json; run `npm run codegen` after changing either.
//
// The AMQP 0-9-1 definition it is made from carries this notice:
//
// Copyright (C) 2008-2020 VMware, Inc. or its affiliates.
//
// Permission is hereby granted, free of charge, to any person
// obtaining a copy of this file (the "Software"), to deal in the
// Software without restriction, including without limitation the
// rights to use, copy, modify, merge, publish, distribute,
// sublicense, and/or sell copies of the Software, and to permit
// persons to whom the Software is furnished to do so, subject to
// the following conditions:
//
// The above copyright notice and this permission notice shall be
// included in all copies or substantial portions of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
// EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES
// OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
// NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
// HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
// WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
// FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR
// OTHER DEALINGS IN THE SOFTWARE.
//
// Class information entered from amqp_xml0-8.pdf and domain types from amqp-xml-doc0-9.pdf
// Updated for 0-9-1 by Tony Garnock-Jones
//
// b3cb053f15e7b98808c0ccc67f23cb3e  amqp_xml0-8.pdf
// http://twiststandards.org/?option=com_docman&task=cat_view&gid=28&Itemid=90
// 8444db91e2949dbecfb2585e9eef6d64  amqp-xml-doc0-9.pdf
// https://jira.amqp.org/confluence/download/attachments/720900/amqp-xml-doc0-9.pdf?version=1

import { ProtocolError } from './errors.js';
import { readTable, writeTable } from './field-table.js';
import type { FieldTable } from './field-types.js';
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_MIN_SIZE = 4096;
export const FRAME_END = 206;
export const REPLY_SUCCESS = 200;

/** AMQP reply codes by name, as RabbitMQ sends them in connection.close and channel.close. */
export const ReplyCode = {
  /** 311, a soft error: closes the channel. */
  CONTENT_TOO_LARGE: 311,
  /** 312, a soft error: closes the channel. */
  NO_ROUTE: 312,
  /** 313, a soft error: closes the channel. */
  NO_CONSUMERS: 313,
  /** 403, a soft error: closes the channel. */
  ACCESS_REFUSED: 403,
  /** 404, a soft error: closes the channel. */
  NOT_FOUND: 404,
  /** 405, a soft error: closes the channel. */
  RESOURCE_LOCKED: 405,
  /** 406, a soft error: closes the channel. */
  PRECONDITION_FAILED: 406,
  /** 320, a hard error: closes the connection. */
  CONNECTION_FORCED: 320,
  /** 402, a hard error: closes the connection. */
  INVALID_PATH: 402,
  /** 501, a hard error: closes the connection. */
  FRAME_ERROR: 501,
  /** 502, a hard error: closes the connection. */
  SYNTAX_ERROR: 502,
  /** 503, a hard error: closes the connection. */
  COMMAND_INVALID: 503,
  /** 504, a hard error: closes the connection. */
  CHANNEL_ERROR: 504,
  /** 505, a hard error: closes the connection. */
  UNEXPECTED_FRAME: 505,
  /** 506, a hard error: closes the connection. */
  RESOURCE_ERROR: 506,
  /** 530, a hard error: closes the connection. */
  NOT_ALLOWED: 530,
  /** 540, a hard error: closes the connection. */
  NOT_IMPLEMENTED: 540,
  /** 541, a hard error: closes the connection. */
  INTERNAL_ERROR: 541,
} as const;

/** The name of an AMQP reply code, such as `NOT_FOUND` (404): the `code` of an error the broker reported. */
export type ReplyCodeName = keyof typeof ReplyCode;

/** Reply codes of the `hard-error` class: the broker closes the whole connection with these. */
export const HARD_ERROR_CODES: ReadonlySet<number> = new Set([
  320, 402, 501, 502, 503, 504, 505, 506, 530, 540, 541,
]);

/** Arguments of `connection.start`. */
export interface ConnectionStartArgs {
  versionMajor: number;
  versionMinor: number;
  serverProperties: FieldTable;
  mechanisms: Buffer;
  locales: Buffer;
}

/** Arguments of `connection.start-ok`. */
export interface ConnectionStartOkArgs {
  clientProperties: FieldTable;
  mechanism: string;
  response: Buffer;
  locale: string;
}

/** Arguments of `connection.secure`. */
export interface ConnectionSecureArgs {
  challenge: Buffer;
}

/** Arguments of `connection.secure-ok`. */
export interface ConnectionSecureOkArgs {
  response: Buffer;
}

/** Arguments of `connection.tune`. */
export interface ConnectionTuneArgs {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** Arguments of `connection.tune-ok`. */
export interface ConnectionTuneOkArgs {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** Arguments of `connection.open`. */
export interface ConnectionOpenArgs {
  virtualHost: string;
  capabilities: string;
  insist: boolean;
}

/** Arguments of `connection.open-ok`. */
export interface ConnectionOpenOkArgs {
  knownHosts: string;
}

/** Arguments of `connection.close`. */
export interface ConnectionCloseArgs {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** Arguments of `connection.close-ok`. */
export type ConnectionCloseOkArgs = Record<string, never>;

/** Arguments of `connection.blocked`. */
export interface ConnectionBlockedArgs {
  reason: string;
}

/** Arguments of `connection.unblocked`. */
export type ConnectionUnblockedArgs = Record<string, never>;

/** Arguments of `connection.update-secret`. */
export interface ConnectionUpdateSecretArgs {
  newSecret: Buffer;
  reason: string;
}

/** Arguments of `connection.update-secret-ok`. */
export type ConnectionUpdateSecretOkArgs = Record<string, never>;

/** Arguments of `channel.open`. */
export interface ChannelOpenArgs {
  outOfBand: string;
}

/** Arguments of `channel.open-ok`. */
export interface ChannelOpenOkArgs {
  channelId: Buffer;
}

/** Arguments of `channel.flow`. */
export interface ChannelFlowArgs {
  active: boolean;
}

/** Arguments of `channel.flow-ok`. */
export interface ChannelFlowOkArgs {
  active: boolean;
}

/** Arguments of `channel.close`. */
export interface ChannelCloseArgs {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** Arguments of `channel.close-ok`. */
export type ChannelCloseOkArgs = Record<string, never>;

/** Arguments of `access.request`. */
export interface AccessRequestArgs {
  realm: string;
  exclusive: boolean;
  passive: boolean;
  active: boolean;
  write: boolean;
  read: boolean;
}

/** Arguments of `access.request-ok`. */
export type AccessRequestOkArgs = Record<string, never>;

/** Arguments of `exchange.declare`. */
export interface ExchangeDeclareArgs {
  exchange: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `exchange.declare-ok`. */
export type ExchangeDeclareOkArgs = Record<string, never>;

/** Arguments of `exchange.delete`. */
export interface ExchangeDeleteArgs {
  exchange: string;
  ifUnused: boolean;
  nowait: boolean;
}

/** Arguments of `exchange.delete-ok`. */
export type ExchangeDeleteOkArgs = Record<string, never>;

/** Arguments of `exchange.bind`. */
export interface ExchangeBindArgs {
  destination: string;
  source: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `exchange.bind-ok`. */
export type ExchangeBindOkArgs = Record<string, never>;

/** Arguments of `exchange.unbind`. */
export interface ExchangeUnbindArgs {
  destination: string;
  source: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `exchange.unbind-ok`. */
export type ExchangeUnbindOkArgs = Record<string, never>;

/** Arguments of `queue.declare`. */
export interface QueueDeclareArgs {
  queue: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `queue.declare-ok`. */
export interface QueueDeclareOkArgs {
  queue: string;
  messageCount: number;
  consumerCount: number;
}

/** Arguments of `queue.bind`. */
export interface QueueBindArgs {
  queue: string;
  exchange: string;
  routingKey: string;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `queue.bind-ok`. */
export type QueueBindOkArgs = Record<string, never>;

/** Arguments of `queue.purge`. */
export interface QueuePurgeArgs {
  queue: string;
  nowait: boolean;
}

/** Arguments of `queue.purge-ok`. */
export interface QueuePurgeOkArgs {
  messageCount: number;
}

/** Arguments of `queue.delete`. */
export interface QueueDeleteArgs {
  queue: string;
  ifUnused: boolean;
  ifEmpty: boolean;
  nowait: boolean;
}

/** Arguments of `queue.delete-ok`. */
export interface QueueDeleteOkArgs {
  messageCount: number;
}

/** Arguments of `queue.unbind`. */
export interface QueueUnbindArgs {
  queue: string;
  exchange: string;
  routingKey: string;
  arguments: FieldTable;
}

/** Arguments of `queue.unbind-ok`. */
export type QueueUnbindOkArgs = Record<string, never>;

/** Arguments of `basic.qos`. */
export interface BasicQosArgs {
  prefetchSize: number;
  prefetchCount: number;
  global: boolean;
}

/** Arguments of `basic.qos-ok`. */
export type BasicQosOkArgs = Record<string, never>;

/** Arguments of `basic.consume`. */
export interface BasicConsumeArgs {
  queue: string;
  consumerTag: string;
  noLocal: boolean;
  noAck: boolean;
  exclusive: boolean;
  nowait: boolean;
  arguments: FieldTable;
}

/** Arguments of `basic.consume-ok`. */
export interface BasicConsumeOkArgs {
  consumerTag: string;
}

/** Arguments of `basic.cancel`. */
export interface BasicCancelArgs {
  consumerTag: string;
  nowait: boolean;
}

/** Arguments of `basic.cancel-ok`. */
export interface BasicCancelOkArgs {
  consumerTag: string;
}

/** Arguments of `basic.publish`. */
export interface BasicPublishArgs {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
}

/** Arguments of `basic.return`. */
export interface BasicReturnArgs {
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
}

/** Arguments of `basic.deliver`. */
export interface BasicDeliverArgs {
  consumerTag: string;
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}

/** Arguments of `basic.get`. */
export interface BasicGetArgs {
  queue: string;
  noAck: boolean;
}

/** Arguments of `basic.get-ok`. */
export interface BasicGetOkArgs {
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  messageCount: number;
}

/** Arguments of `basic.get-empty`. */
export interface BasicGetEmptyArgs {
  clusterId: string;
}

/** Arguments of `basic.ack`. */
export interface BasicAckArgs {
  deliveryTag: number;
  multiple: boolean;
}

/** Arguments of `basic.reject`. */
export interface BasicRejectArgs {
  deliveryTag: number;
  requeue: boolean;
}

/** Arguments of `basic.recover-async`. */
export interface BasicRecoverAsyncArgs {
  requeue: boolean;
}

/** Arguments of `basic.recover`. */
export interface BasicRecoverArgs {
  requeue: boolean;
}

/** Arguments of `basic.recover-ok`. */
export type BasicRecoverOkArgs = Record<string, never>;

/** Arguments of `basic.nack`. */
export interface BasicNackArgs {
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean;
}

/** Arguments of `tx.select`. */
export type TxSelectArgs = Record<string, never>;

/** Arguments of `tx.select-ok`. */
export type TxSelectOkArgs = Record<string, never>;

/** Arguments of `tx.commit`. */
export type TxCommitArgs = Record<string, never>;

/** Arguments of `tx.commit-ok`. */
export type TxCommitOkArgs = Record<string, never>;

/** Arguments of `tx.rollback`. */
export type TxRollbackArgs = Record<string, never>;

/** Arguments of `tx.rollback-ok`. */
export type TxRollbackOkArgs = Record<string, never>;

/** Arguments of `confirm.select`. */
export interface ConfirmSelectArgs {
  nowait: boolean;
}

/** Arguments of `confirm.select-ok`. */
export type ConfirmSelectOkArgs = Record<string, never>;

/** The argument type of every method, keyed by `class.method`. */
export interface MethodArgsMap extends Record<MethodName, unknown> {
  'connection.start': ConnectionStartArgs;
  'connection.start-ok': ConnectionStartOkArgs;
  'connection.secure': ConnectionSecureArgs;
  'connection.secure-ok': ConnectionSecureOkArgs;
  'connection.tune': ConnectionTuneArgs;
  'connection.tune-ok': ConnectionTuneOkArgs;
  'connection.open': ConnectionOpenArgs;
  'connection.open-ok': ConnectionOpenOkArgs;
  'connection.close': ConnectionCloseArgs;
  'connection.close-ok': ConnectionCloseOkArgs;
  'connection.blocked': ConnectionBlockedArgs;
  'connection.unblocked': ConnectionUnblockedArgs;
  'connection.update-secret': ConnectionUpdateSecretArgs;
  'connection.update-secret-ok': ConnectionUpdateSecretOkArgs;
  'channel.open': ChannelOpenArgs;
  'channel.open-ok': ChannelOpenOkArgs;
  'channel.flow': ChannelFlowArgs;
  'channel.flow-ok': ChannelFlowOkArgs;
  'channel.close': ChannelCloseArgs;
  'channel.close-ok': ChannelCloseOkArgs;
  'access.request': AccessRequestArgs;
  'access.request-ok': AccessRequestOkArgs;
  'exchange.declare': ExchangeDeclareArgs;
  'exchange.declare-ok': ExchangeDeclareOkArgs;
  'exchange.delete': ExchangeDeleteArgs;
  'exchange.delete-ok': ExchangeDeleteOkArgs;
  'exchange.bind': ExchangeBindArgs;
  'exchange.bind-ok': ExchangeBindOkArgs;
  'exchange.unbind': ExchangeUnbindArgs;
  'exchange.unbind-ok': ExchangeUnbindOkArgs;
  'queue.declare': QueueDeclareArgs;
  'queue.declare-ok': QueueDeclareOkArgs;
  'queue.bind': QueueBindArgs;
  'queue.bind-ok': QueueBindOkArgs;
  'queue.purge': QueuePurgeArgs;
  'queue.purge-ok': QueuePurgeOkArgs;
  'queue.delete': QueueDeleteArgs;
  'queue.delete-ok': QueueDeleteOkArgs;
  'queue.unbind': QueueUnbindArgs;
  'queue.unbind-ok': QueueUnbindOkArgs;
  'basic.qos': BasicQosArgs;
  'basic.qos-ok': BasicQosOkArgs;
  'basic.consume': BasicConsumeArgs;
  'basic.consume-ok': BasicConsumeOkArgs;
  'basic.cancel': BasicCancelArgs;
  'basic.cancel-ok': BasicCancelOkArgs;
  'basic.publish': BasicPublishArgs;
  'basic.return': BasicReturnArgs;
  'basic.deliver': BasicDeliverArgs;
  'basic.get': BasicGetArgs;
  'basic.get-ok': BasicGetOkArgs;
  'basic.get-empty': BasicGetEmptyArgs;
  'basic.ack': BasicAckArgs;
  'basic.reject': BasicRejectArgs;
  'basic.recover-async': BasicRecoverAsyncArgs;
  'basic.recover': BasicRecoverArgs;
  'basic.recover-ok': BasicRecoverOkArgs;
  'basic.nack': BasicNackArgs;
  'tx.select': TxSelectArgs;
  'tx.select-ok': TxSelectOkArgs;
  'tx.commit': TxCommitArgs;
  'tx.commit-ok': TxCommitOkArgs;
  'tx.rollback': TxRollbackArgs;
  'tx.rollback-ok': TxRollbackOkArgs;
  'confirm.select': ConfirmSelectArgs;
  'confirm.select-ok': ConfirmSelectOkArgs;
}

/** A method name such as `basic.publish`. */
export type MethodName =
  | 'connection.start'
  | 'connection.start-ok'
  | 'connection.secure'
  | 'connection.secure-ok'
  | 'connection.tune'
  | 'connection.tune-ok'
  | 'connection.open'
  | 'connection.open-ok'
  | 'connection.close'
  | 'connection.close-ok'
  | 'connection.blocked'
  | 'connection.unblocked'
  | 'connection.update-secret'
  | 'connection.update-secret-ok'
  | 'channel.open'
  | 'channel.open-ok'
  | 'channel.flow'
  | 'channel.flow-ok'
  | 'channel.close'
  | 'channel.close-ok'
  | 'access.request'
  | 'access.request-ok'
  | 'exchange.declare'
  | 'exchange.declare-ok'
  | 'exchange.delete'
  | 'exchange.delete-ok'
  | 'exchange.bind'
  | 'exchange.bind-ok'
  | 'exchange.unbind'
  | 'exchange.unbind-ok'
  | 'queue.declare'
  | 'queue.declare-ok'
  | 'queue.bind'
  | 'queue.bind-ok'
  | 'queue.purge'
  | 'queue.purge-ok'
  | 'queue.delete'
  | 'queue.delete-ok'
  | 'queue.unbind'
  | 'queue.unbind-ok'
  | 'basic.qos'
  | 'basic.qos-ok'
  | 'basic.consume'
  | 'basic.consume-ok'
  | 'basic.cancel'
  | 'basic.cancel-ok'
  | 'basic.publish'
  | 'basic.return'
  | 'basic.deliver'
  | 'basic.get'
  | 'basic.get-ok'
  | 'basic.get-empty'
  | 'basic.ack'
  | 'basic.reject'
  | 'basic.recover-async'
  | 'basic.recover'
  | 'basic.recover-ok'
  | 'basic.nack'
  | 'tx.select'
  | 'tx.select-ok'
  | 'tx.commit'
  | 'tx.commit-ok'
  | 'tx.rollback'
  | 'tx.rollback-ok'
  | 'confirm.select'
  | 'confirm.select-ok';

/** The exact arguments of one method: `MethodArgs<'basic.publish'>`. */
export type MethodArgs<N extends MethodName> = MethodArgsMap[N];

/** A decoded method, discriminated by `name`. */
export type Method = { [N in MethodName]: { name: N; args: MethodArgsMap[N] } }[MethodName];

/** What the protocol says of a method. */
export interface MethodInfo {
  /** Class id in the high 16 bits, method id in the low 16, as on the wire. */
  readonly id: number;
  /** A request the peer must answer with one of `replies`. */
  readonly synchronous: boolean;
  /** Followed by a content header and body frames. */
  readonly content: boolean;
  readonly replies: readonly MethodName[];
}

export const methodInfo: { readonly [N in MethodName]: MethodInfo } = {
  'connection.start': { id: 0x000a000a, synchronous: true, content: false, replies: ['connection.start-ok'] },
  'connection.start-ok': { id: 0x000a000b, synchronous: false, content: false, replies: [] },
  'connection.secure': { id: 0x000a0014, synchronous: true, content: false, replies: ['connection.secure-ok'] },
  'connection.secure-ok': { id: 0x000a0015, synchronous: false, content: false, replies: [] },
  'connection.tune': { id: 0x000a001e, synchronous: true, content: false, replies: ['connection.tune-ok'] },
  'connection.tune-ok': { id: 0x000a001f, synchronous: false, content: false, replies: [] },
  'connection.open': { id: 0x000a0028, synchronous: true, content: false, replies: ['connection.open-ok'] },
  'connection.open-ok': { id: 0x000a0029, synchronous: false, content: false, replies: [] },
  'connection.close': { id: 0x000a0032, synchronous: true, content: false, replies: ['connection.close-ok'] },
  'connection.close-ok': { id: 0x000a0033, synchronous: false, content: false, replies: [] },
  'connection.blocked': { id: 0x000a003c, synchronous: false, content: false, replies: [] },
  'connection.unblocked': { id: 0x000a003d, synchronous: false, content: false, replies: [] },
  'connection.update-secret': { id: 0x000a0046, synchronous: true, content: false, replies: ['connection.update-secret-ok'] },
  'connection.update-secret-ok': { id: 0x000a0047, synchronous: false, content: false, replies: [] },
  'channel.open': { id: 0x0014000a, synchronous: true, content: false, replies: ['channel.open-ok'] },
  'channel.open-ok': { id: 0x0014000b, synchronous: false, content: false, replies: [] },
  'channel.flow': { id: 0x00140014, synchronous: true, content: false, replies: ['channel.flow-ok'] },
  'channel.flow-ok': { id: 0x00140015, synchronous: false, content: false, replies: [] },
  'channel.close': { id: 0x00140028, synchronous: true, content: false, replies: ['channel.close-ok'] },
  'channel.close-ok': { id: 0x00140029, synchronous: false, content: false, replies: [] },
  'access.request': { id: 0x001e000a, synchronous: true, content: false, replies: ['access.request-ok'] },
  'access.request-ok': { id: 0x001e000b, synchronous: false, content: false, replies: [] },
  'exchange.declare': { id: 0x0028000a, synchronous: true, content: false, replies: ['exchange.declare-ok'] },
  'exchange.declare-ok': { id: 0x0028000b, synchronous: false, content: false, replies: [] },
  'exchange.delete': { id: 0x00280014, synchronous: true, content: false, replies: ['exchange.delete-ok'] },
  'exchange.delete-ok': { id: 0x00280015, synchronous: false, content: false, replies: [] },
  'exchange.bind': { id: 0x0028001e, synchronous: true, content: false, replies: ['exchange.bind-ok'] },
  'exchange.bind-ok': { id: 0x0028001f, synchronous: false, content: false, replies: [] },
  'exchange.unbind': { id: 0x00280028, synchronous: true, content: false, replies: ['exchange.unbind-ok'] },
  'exchange.unbind-ok': { id: 0x00280033, synchronous: false, content: false, replies: [] },
  'queue.declare': { id: 0x0032000a, synchronous: true, content: false, replies: ['queue.declare-ok'] },
  'queue.declare-ok': { id: 0x0032000b, synchronous: false, content: false, replies: [] },
  'queue.bind': { id: 0x00320014, synchronous: true, content: false, replies: ['queue.bind-ok'] },
  'queue.bind-ok': { id: 0x00320015, synchronous: false, content: false, replies: [] },
  'queue.purge': { id: 0x0032001e, synchronous: true, content: false, replies: ['queue.purge-ok'] },
  'queue.purge-ok': { id: 0x0032001f, synchronous: false, content: false, replies: [] },
  'queue.delete': { id: 0x00320028, synchronous: true, content: false, replies: ['queue.delete-ok'] },
  'queue.delete-ok': { id: 0x00320029, synchronous: false, content: false, replies: [] },
  'queue.unbind': { id: 0x00320032, synchronous: true, content: false, replies: ['queue.unbind-ok'] },
  'queue.unbind-ok': { id: 0x00320033, synchronous: false, content: false, replies: [] },
  'basic.qos': { id: 0x003c000a, synchronous: true, content: false, replies: ['basic.qos-ok'] },
  'basic.qos-ok': { id: 0x003c000b, synchronous: false, content: false, replies: [] },
  'basic.consume': { id: 0x003c0014, synchronous: true, content: false, replies: ['basic.consume-ok'] },
  'basic.consume-ok': { id: 0x003c0015, synchronous: false, content: false, replies: [] },
  'basic.cancel': { id: 0x003c001e, synchronous: true, content: false, replies: ['basic.cancel-ok'] },
  'basic.cancel-ok': { id: 0x003c001f, synchronous: false, content: false, replies: [] },
  'basic.publish': { id: 0x003c0028, synchronous: false, content: true, replies: [] },
  'basic.return': { id: 0x003c0032, synchronous: false, content: true, replies: [] },
  'basic.deliver': { id: 0x003c003c, synchronous: false, content: true, replies: [] },
  'basic.get': { id: 0x003c0046, synchronous: true, content: false, replies: ['basic.get-ok', 'basic.get-empty'] },
  'basic.get-ok': { id: 0x003c0047, synchronous: false, content: true, replies: [] },
  'basic.get-empty': { id: 0x003c0048, synchronous: false, content: false, replies: [] },
  'basic.ack': { id: 0x003c0050, synchronous: false, content: false, replies: [] },
  'basic.reject': { id: 0x003c005a, synchronous: false, content: false, replies: [] },
  'basic.recover-async': { id: 0x003c0064, synchronous: false, content: false, replies: [] },
  'basic.recover': { id: 0x003c006e, synchronous: true, content: false, replies: ['basic.recover-ok'] },
  'basic.recover-ok': { id: 0x003c006f, synchronous: false, content: false, replies: [] },
  'basic.nack': { id: 0x003c0078, synchronous: false, content: false, replies: [] },
  'tx.select': { id: 0x005a000a, synchronous: true, content: false, replies: ['tx.select-ok'] },
  'tx.select-ok': { id: 0x005a000b, synchronous: false, content: false, replies: [] },
  'tx.commit': { id: 0x005a0014, synchronous: true, content: false, replies: ['tx.commit-ok'] },
  'tx.commit-ok': { id: 0x005a0015, synchronous: false, content: false, replies: [] },
  'tx.rollback': { id: 0x005a001e, synchronous: true, content: false, replies: ['tx.rollback-ok'] },
  'tx.rollback-ok': { id: 0x005a001f, synchronous: false, content: false, replies: [] },
  'confirm.select': { id: 0x0055000a, synchronous: true, content: false, replies: ['confirm.select-ok'] },
  'confirm.select-ok': { id: 0x0055000b, synchronous: false, content: false, replies: [] },
};

export function encodeConnectionStart(w: ByteWriter, a: ConnectionStartArgs): void {
  w.long(0x000a000a, 'connection.start');
  w.octet(a.versionMajor, 'connection.start versionMajor');
  w.octet(a.versionMinor, 'connection.start versionMinor');
  writeTable(w, a.serverProperties, 'connection.start serverProperties');
  w.longstr(a.mechanisms, 'connection.start mechanisms');
  w.longstr(a.locales, 'connection.start locales');
}

export function encodeConnectionStartOk(w: ByteWriter, a: ConnectionStartOkArgs): void {
  w.long(0x000a000b, 'connection.start-ok');
  writeTable(w, a.clientProperties, 'connection.start-ok clientProperties');
  w.shortstr(a.mechanism, 'connection.start-ok mechanism');
  w.longstr(a.response, 'connection.start-ok response');
  w.shortstr(a.locale, 'connection.start-ok locale');
}

export function encodeConnectionSecure(w: ByteWriter, a: ConnectionSecureArgs): void {
  w.long(0x000a0014, 'connection.secure');
  w.longstr(a.challenge, 'connection.secure challenge');
}

export function encodeConnectionSecureOk(w: ByteWriter, a: ConnectionSecureOkArgs): void {
  w.long(0x000a0015, 'connection.secure-ok');
  w.longstr(a.response, 'connection.secure-ok response');
}

export function encodeConnectionTune(w: ByteWriter, a: ConnectionTuneArgs): void {
  w.long(0x000a001e, 'connection.tune');
  w.short(a.channelMax, 'connection.tune channelMax');
  w.long(a.frameMax, 'connection.tune frameMax');
  w.short(a.heartbeat, 'connection.tune heartbeat');
}

export function encodeConnectionTuneOk(w: ByteWriter, a: ConnectionTuneOkArgs): void {
  w.long(0x000a001f, 'connection.tune-ok');
  w.short(a.channelMax, 'connection.tune-ok channelMax');
  w.long(a.frameMax, 'connection.tune-ok frameMax');
  w.short(a.heartbeat, 'connection.tune-ok heartbeat');
}

export function encodeConnectionOpen(w: ByteWriter, a: ConnectionOpenArgs): void {
  w.long(0x000a0028, 'connection.open');
  w.shortstr(a.virtualHost, 'connection.open virtualHost');
  w.shortstr(a.capabilities, 'connection.open capabilities');
  w.octet((a.insist ? 1 : 0), 'connection.open flags');
}

export function encodeConnectionOpenOk(w: ByteWriter, a: ConnectionOpenOkArgs): void {
  w.long(0x000a0029, 'connection.open-ok');
  w.shortstr(a.knownHosts, 'connection.open-ok knownHosts');
}

export function encodeConnectionClose(w: ByteWriter, a: ConnectionCloseArgs): void {
  w.long(0x000a0032, 'connection.close');
  w.short(a.replyCode, 'connection.close replyCode');
  w.shortstr(a.replyText, 'connection.close replyText');
  w.short(a.classId, 'connection.close classId');
  w.short(a.methodId, 'connection.close methodId');
}

export function encodeConnectionCloseOk(w: ByteWriter, _a: ConnectionCloseOkArgs): void {
  w.long(0x000a0033, 'connection.close-ok');
}

export function encodeConnectionBlocked(w: ByteWriter, a: ConnectionBlockedArgs): void {
  w.long(0x000a003c, 'connection.blocked');
  w.shortstr(a.reason, 'connection.blocked reason');
}

export function encodeConnectionUnblocked(w: ByteWriter, _a: ConnectionUnblockedArgs): void {
  w.long(0x000a003d, 'connection.unblocked');
}

export function encodeConnectionUpdateSecret(w: ByteWriter, a: ConnectionUpdateSecretArgs): void {
  w.long(0x000a0046, 'connection.update-secret');
  w.longstr(a.newSecret, 'connection.update-secret newSecret');
  w.shortstr(a.reason, 'connection.update-secret reason');
}

export function encodeConnectionUpdateSecretOk(w: ByteWriter, _a: ConnectionUpdateSecretOkArgs): void {
  w.long(0x000a0047, 'connection.update-secret-ok');
}

export function encodeChannelOpen(w: ByteWriter, a: ChannelOpenArgs): void {
  w.long(0x0014000a, 'channel.open');
  w.shortstr(a.outOfBand, 'channel.open outOfBand');
}

export function encodeChannelOpenOk(w: ByteWriter, a: ChannelOpenOkArgs): void {
  w.long(0x0014000b, 'channel.open-ok');
  w.longstr(a.channelId, 'channel.open-ok channelId');
}

export function encodeChannelFlow(w: ByteWriter, a: ChannelFlowArgs): void {
  w.long(0x00140014, 'channel.flow');
  w.octet((a.active ? 1 : 0), 'channel.flow flags');
}

export function encodeChannelFlowOk(w: ByteWriter, a: ChannelFlowOkArgs): void {
  w.long(0x00140015, 'channel.flow-ok');
  w.octet((a.active ? 1 : 0), 'channel.flow-ok flags');
}

export function encodeChannelClose(w: ByteWriter, a: ChannelCloseArgs): void {
  w.long(0x00140028, 'channel.close');
  w.short(a.replyCode, 'channel.close replyCode');
  w.shortstr(a.replyText, 'channel.close replyText');
  w.short(a.classId, 'channel.close classId');
  w.short(a.methodId, 'channel.close methodId');
}

export function encodeChannelCloseOk(w: ByteWriter, _a: ChannelCloseOkArgs): void {
  w.long(0x00140029, 'channel.close-ok');
}

export function encodeAccessRequest(w: ByteWriter, a: AccessRequestArgs): void {
  w.long(0x001e000a, 'access.request');
  w.shortstr(a.realm, 'access.request realm');
  w.octet((a.exclusive ? 1 : 0) | (a.passive ? 2 : 0) | (a.active ? 4 : 0) | (a.write ? 8 : 0) | (a.read ? 16 : 0), 'access.request flags');
}

export function encodeAccessRequestOk(w: ByteWriter, _a: AccessRequestOkArgs): void {
  w.long(0x001e000b, 'access.request-ok');
  w.short(0, 'access.request-ok ticket');
}

export function encodeExchangeDeclare(w: ByteWriter, a: ExchangeDeclareArgs): void {
  w.long(0x0028000a, 'exchange.declare');
  w.short(0, 'exchange.declare ticket');
  w.shortstr(a.exchange, 'exchange.declare exchange');
  w.shortstr(a.type, 'exchange.declare type');
  w.octet((a.passive ? 1 : 0) | (a.durable ? 2 : 0) | (a.autoDelete ? 4 : 0) | (a.internal ? 8 : 0) | (a.nowait ? 16 : 0), 'exchange.declare flags');
  writeTable(w, a.arguments, 'exchange.declare arguments');
}

export function encodeExchangeDeclareOk(w: ByteWriter, _a: ExchangeDeclareOkArgs): void {
  w.long(0x0028000b, 'exchange.declare-ok');
}

export function encodeExchangeDelete(w: ByteWriter, a: ExchangeDeleteArgs): void {
  w.long(0x00280014, 'exchange.delete');
  w.short(0, 'exchange.delete ticket');
  w.shortstr(a.exchange, 'exchange.delete exchange');
  w.octet((a.ifUnused ? 1 : 0) | (a.nowait ? 2 : 0), 'exchange.delete flags');
}

export function encodeExchangeDeleteOk(w: ByteWriter, _a: ExchangeDeleteOkArgs): void {
  w.long(0x00280015, 'exchange.delete-ok');
}

export function encodeExchangeBind(w: ByteWriter, a: ExchangeBindArgs): void {
  w.long(0x0028001e, 'exchange.bind');
  w.short(0, 'exchange.bind ticket');
  w.shortstr(a.destination, 'exchange.bind destination');
  w.shortstr(a.source, 'exchange.bind source');
  w.shortstr(a.routingKey, 'exchange.bind routingKey');
  w.octet((a.nowait ? 1 : 0), 'exchange.bind flags');
  writeTable(w, a.arguments, 'exchange.bind arguments');
}

export function encodeExchangeBindOk(w: ByteWriter, _a: ExchangeBindOkArgs): void {
  w.long(0x0028001f, 'exchange.bind-ok');
}

export function encodeExchangeUnbind(w: ByteWriter, a: ExchangeUnbindArgs): void {
  w.long(0x00280028, 'exchange.unbind');
  w.short(0, 'exchange.unbind ticket');
  w.shortstr(a.destination, 'exchange.unbind destination');
  w.shortstr(a.source, 'exchange.unbind source');
  w.shortstr(a.routingKey, 'exchange.unbind routingKey');
  w.octet((a.nowait ? 1 : 0), 'exchange.unbind flags');
  writeTable(w, a.arguments, 'exchange.unbind arguments');
}

export function encodeExchangeUnbindOk(w: ByteWriter, _a: ExchangeUnbindOkArgs): void {
  w.long(0x00280033, 'exchange.unbind-ok');
}

export function encodeQueueDeclare(w: ByteWriter, a: QueueDeclareArgs): void {
  w.long(0x0032000a, 'queue.declare');
  w.short(0, 'queue.declare ticket');
  w.shortstr(a.queue, 'queue.declare queue');
  w.octet((a.passive ? 1 : 0) | (a.durable ? 2 : 0) | (a.exclusive ? 4 : 0) | (a.autoDelete ? 8 : 0) | (a.nowait ? 16 : 0), 'queue.declare flags');
  writeTable(w, a.arguments, 'queue.declare arguments');
}

export function encodeQueueDeclareOk(w: ByteWriter, a: QueueDeclareOkArgs): void {
  w.long(0x0032000b, 'queue.declare-ok');
  w.shortstr(a.queue, 'queue.declare-ok queue');
  w.long(a.messageCount, 'queue.declare-ok messageCount');
  w.long(a.consumerCount, 'queue.declare-ok consumerCount');
}

export function encodeQueueBind(w: ByteWriter, a: QueueBindArgs): void {
  w.long(0x00320014, 'queue.bind');
  w.short(0, 'queue.bind ticket');
  w.shortstr(a.queue, 'queue.bind queue');
  w.shortstr(a.exchange, 'queue.bind exchange');
  w.shortstr(a.routingKey, 'queue.bind routingKey');
  w.octet((a.nowait ? 1 : 0), 'queue.bind flags');
  writeTable(w, a.arguments, 'queue.bind arguments');
}

export function encodeQueueBindOk(w: ByteWriter, _a: QueueBindOkArgs): void {
  w.long(0x00320015, 'queue.bind-ok');
}

export function encodeQueuePurge(w: ByteWriter, a: QueuePurgeArgs): void {
  w.long(0x0032001e, 'queue.purge');
  w.short(0, 'queue.purge ticket');
  w.shortstr(a.queue, 'queue.purge queue');
  w.octet((a.nowait ? 1 : 0), 'queue.purge flags');
}

export function encodeQueuePurgeOk(w: ByteWriter, a: QueuePurgeOkArgs): void {
  w.long(0x0032001f, 'queue.purge-ok');
  w.long(a.messageCount, 'queue.purge-ok messageCount');
}

export function encodeQueueDelete(w: ByteWriter, a: QueueDeleteArgs): void {
  w.long(0x00320028, 'queue.delete');
  w.short(0, 'queue.delete ticket');
  w.shortstr(a.queue, 'queue.delete queue');
  w.octet((a.ifUnused ? 1 : 0) | (a.ifEmpty ? 2 : 0) | (a.nowait ? 4 : 0), 'queue.delete flags');
}

export function encodeQueueDeleteOk(w: ByteWriter, a: QueueDeleteOkArgs): void {
  w.long(0x00320029, 'queue.delete-ok');
  w.long(a.messageCount, 'queue.delete-ok messageCount');
}

export function encodeQueueUnbind(w: ByteWriter, a: QueueUnbindArgs): void {
  w.long(0x00320032, 'queue.unbind');
  w.short(0, 'queue.unbind ticket');
  w.shortstr(a.queue, 'queue.unbind queue');
  w.shortstr(a.exchange, 'queue.unbind exchange');
  w.shortstr(a.routingKey, 'queue.unbind routingKey');
  writeTable(w, a.arguments, 'queue.unbind arguments');
}

export function encodeQueueUnbindOk(w: ByteWriter, _a: QueueUnbindOkArgs): void {
  w.long(0x00320033, 'queue.unbind-ok');
}

export function encodeBasicQos(w: ByteWriter, a: BasicQosArgs): void {
  w.long(0x003c000a, 'basic.qos');
  w.long(a.prefetchSize, 'basic.qos prefetchSize');
  w.short(a.prefetchCount, 'basic.qos prefetchCount');
  w.octet((a.global ? 1 : 0), 'basic.qos flags');
}

export function encodeBasicQosOk(w: ByteWriter, _a: BasicQosOkArgs): void {
  w.long(0x003c000b, 'basic.qos-ok');
}

export function encodeBasicConsume(w: ByteWriter, a: BasicConsumeArgs): void {
  w.long(0x003c0014, 'basic.consume');
  w.short(0, 'basic.consume ticket');
  w.shortstr(a.queue, 'basic.consume queue');
  w.shortstr(a.consumerTag, 'basic.consume consumerTag');
  w.octet((a.noLocal ? 1 : 0) | (a.noAck ? 2 : 0) | (a.exclusive ? 4 : 0) | (a.nowait ? 8 : 0), 'basic.consume flags');
  writeTable(w, a.arguments, 'basic.consume arguments');
}

export function encodeBasicConsumeOk(w: ByteWriter, a: BasicConsumeOkArgs): void {
  w.long(0x003c0015, 'basic.consume-ok');
  w.shortstr(a.consumerTag, 'basic.consume-ok consumerTag');
}

export function encodeBasicCancel(w: ByteWriter, a: BasicCancelArgs): void {
  w.long(0x003c001e, 'basic.cancel');
  w.shortstr(a.consumerTag, 'basic.cancel consumerTag');
  w.octet((a.nowait ? 1 : 0), 'basic.cancel flags');
}

export function encodeBasicCancelOk(w: ByteWriter, a: BasicCancelOkArgs): void {
  w.long(0x003c001f, 'basic.cancel-ok');
  w.shortstr(a.consumerTag, 'basic.cancel-ok consumerTag');
}

export function encodeBasicPublish(w: ByteWriter, a: BasicPublishArgs): void {
  w.long(0x003c0028, 'basic.publish');
  w.short(0, 'basic.publish ticket');
  w.shortstr(a.exchange, 'basic.publish exchange');
  w.shortstr(a.routingKey, 'basic.publish routingKey');
  w.octet((a.mandatory ? 1 : 0) | (a.immediate ? 2 : 0), 'basic.publish flags');
}

export function encodeBasicReturn(w: ByteWriter, a: BasicReturnArgs): void {
  w.long(0x003c0032, 'basic.return');
  w.short(a.replyCode, 'basic.return replyCode');
  w.shortstr(a.replyText, 'basic.return replyText');
  w.shortstr(a.exchange, 'basic.return exchange');
  w.shortstr(a.routingKey, 'basic.return routingKey');
}

export function encodeBasicDeliver(w: ByteWriter, a: BasicDeliverArgs): void {
  w.long(0x003c003c, 'basic.deliver');
  w.shortstr(a.consumerTag, 'basic.deliver consumerTag');
  w.longlong(a.deliveryTag, 'basic.deliver deliveryTag');
  w.octet((a.redelivered ? 1 : 0), 'basic.deliver flags');
  w.shortstr(a.exchange, 'basic.deliver exchange');
  w.shortstr(a.routingKey, 'basic.deliver routingKey');
}

export function encodeBasicGet(w: ByteWriter, a: BasicGetArgs): void {
  w.long(0x003c0046, 'basic.get');
  w.short(0, 'basic.get ticket');
  w.shortstr(a.queue, 'basic.get queue');
  w.octet((a.noAck ? 1 : 0), 'basic.get flags');
}

export function encodeBasicGetOk(w: ByteWriter, a: BasicGetOkArgs): void {
  w.long(0x003c0047, 'basic.get-ok');
  w.longlong(a.deliveryTag, 'basic.get-ok deliveryTag');
  w.octet((a.redelivered ? 1 : 0), 'basic.get-ok flags');
  w.shortstr(a.exchange, 'basic.get-ok exchange');
  w.shortstr(a.routingKey, 'basic.get-ok routingKey');
  w.long(a.messageCount, 'basic.get-ok messageCount');
}

export function encodeBasicGetEmpty(w: ByteWriter, a: BasicGetEmptyArgs): void {
  w.long(0x003c0048, 'basic.get-empty');
  w.shortstr(a.clusterId, 'basic.get-empty clusterId');
}

export function encodeBasicAck(w: ByteWriter, a: BasicAckArgs): void {
  w.long(0x003c0050, 'basic.ack');
  w.longlong(a.deliveryTag, 'basic.ack deliveryTag');
  w.octet((a.multiple ? 1 : 0), 'basic.ack flags');
}

export function encodeBasicReject(w: ByteWriter, a: BasicRejectArgs): void {
  w.long(0x003c005a, 'basic.reject');
  w.longlong(a.deliveryTag, 'basic.reject deliveryTag');
  w.octet((a.requeue ? 1 : 0), 'basic.reject flags');
}

export function encodeBasicRecoverAsync(w: ByteWriter, a: BasicRecoverAsyncArgs): void {
  w.long(0x003c0064, 'basic.recover-async');
  w.octet((a.requeue ? 1 : 0), 'basic.recover-async flags');
}

export function encodeBasicRecover(w: ByteWriter, a: BasicRecoverArgs): void {
  w.long(0x003c006e, 'basic.recover');
  w.octet((a.requeue ? 1 : 0), 'basic.recover flags');
}

export function encodeBasicRecoverOk(w: ByteWriter, _a: BasicRecoverOkArgs): void {
  w.long(0x003c006f, 'basic.recover-ok');
}

export function encodeBasicNack(w: ByteWriter, a: BasicNackArgs): void {
  w.long(0x003c0078, 'basic.nack');
  w.longlong(a.deliveryTag, 'basic.nack deliveryTag');
  w.octet((a.multiple ? 1 : 0) | (a.requeue ? 2 : 0), 'basic.nack flags');
}

export function encodeTxSelect(w: ByteWriter, _a: TxSelectArgs): void {
  w.long(0x005a000a, 'tx.select');
}

export function encodeTxSelectOk(w: ByteWriter, _a: TxSelectOkArgs): void {
  w.long(0x005a000b, 'tx.select-ok');
}

export function encodeTxCommit(w: ByteWriter, _a: TxCommitArgs): void {
  w.long(0x005a0014, 'tx.commit');
}

export function encodeTxCommitOk(w: ByteWriter, _a: TxCommitOkArgs): void {
  w.long(0x005a0015, 'tx.commit-ok');
}

export function encodeTxRollback(w: ByteWriter, _a: TxRollbackArgs): void {
  w.long(0x005a001e, 'tx.rollback');
}

export function encodeTxRollbackOk(w: ByteWriter, _a: TxRollbackOkArgs): void {
  w.long(0x005a001f, 'tx.rollback-ok');
}

export function encodeConfirmSelect(w: ByteWriter, a: ConfirmSelectArgs): void {
  w.long(0x0055000a, 'confirm.select');
  w.octet((a.nowait ? 1 : 0), 'confirm.select flags');
}

export function encodeConfirmSelectOk(w: ByteWriter, _a: ConfirmSelectOkArgs): void {
  w.long(0x0055000b, 'confirm.select-ok');
}

/** The encoder of every method, keyed by name. */
export const methodEncoders: { readonly [N in MethodName]: (w: ByteWriter, args: MethodArgsMap[N]) => void } = {
  'connection.start': encodeConnectionStart,
  'connection.start-ok': encodeConnectionStartOk,
  'connection.secure': encodeConnectionSecure,
  'connection.secure-ok': encodeConnectionSecureOk,
  'connection.tune': encodeConnectionTune,
  'connection.tune-ok': encodeConnectionTuneOk,
  'connection.open': encodeConnectionOpen,
  'connection.open-ok': encodeConnectionOpenOk,
  'connection.close': encodeConnectionClose,
  'connection.close-ok': encodeConnectionCloseOk,
  'connection.blocked': encodeConnectionBlocked,
  'connection.unblocked': encodeConnectionUnblocked,
  'connection.update-secret': encodeConnectionUpdateSecret,
  'connection.update-secret-ok': encodeConnectionUpdateSecretOk,
  'channel.open': encodeChannelOpen,
  'channel.open-ok': encodeChannelOpenOk,
  'channel.flow': encodeChannelFlow,
  'channel.flow-ok': encodeChannelFlowOk,
  'channel.close': encodeChannelClose,
  'channel.close-ok': encodeChannelCloseOk,
  'access.request': encodeAccessRequest,
  'access.request-ok': encodeAccessRequestOk,
  'exchange.declare': encodeExchangeDeclare,
  'exchange.declare-ok': encodeExchangeDeclareOk,
  'exchange.delete': encodeExchangeDelete,
  'exchange.delete-ok': encodeExchangeDeleteOk,
  'exchange.bind': encodeExchangeBind,
  'exchange.bind-ok': encodeExchangeBindOk,
  'exchange.unbind': encodeExchangeUnbind,
  'exchange.unbind-ok': encodeExchangeUnbindOk,
  'queue.declare': encodeQueueDeclare,
  'queue.declare-ok': encodeQueueDeclareOk,
  'queue.bind': encodeQueueBind,
  'queue.bind-ok': encodeQueueBindOk,
  'queue.purge': encodeQueuePurge,
  'queue.purge-ok': encodeQueuePurgeOk,
  'queue.delete': encodeQueueDelete,
  'queue.delete-ok': encodeQueueDeleteOk,
  'queue.unbind': encodeQueueUnbind,
  'queue.unbind-ok': encodeQueueUnbindOk,
  'basic.qos': encodeBasicQos,
  'basic.qos-ok': encodeBasicQosOk,
  'basic.consume': encodeBasicConsume,
  'basic.consume-ok': encodeBasicConsumeOk,
  'basic.cancel': encodeBasicCancel,
  'basic.cancel-ok': encodeBasicCancelOk,
  'basic.publish': encodeBasicPublish,
  'basic.return': encodeBasicReturn,
  'basic.deliver': encodeBasicDeliver,
  'basic.get': encodeBasicGet,
  'basic.get-ok': encodeBasicGetOk,
  'basic.get-empty': encodeBasicGetEmpty,
  'basic.ack': encodeBasicAck,
  'basic.reject': encodeBasicReject,
  'basic.recover-async': encodeBasicRecoverAsync,
  'basic.recover': encodeBasicRecover,
  'basic.recover-ok': encodeBasicRecoverOk,
  'basic.nack': encodeBasicNack,
  'tx.select': encodeTxSelect,
  'tx.select-ok': encodeTxSelectOk,
  'tx.commit': encodeTxCommit,
  'tx.commit-ok': encodeTxCommitOk,
  'tx.rollback': encodeTxRollback,
  'tx.rollback-ok': encodeTxRollbackOk,
  'confirm.select': encodeConfirmSelect,
  'confirm.select-ok': encodeConfirmSelectOk,
};

function decodeConnectionStart(r: ByteReader): ConnectionStartArgs {
  const versionMajor = r.octet();
  const versionMinor = r.octet();
  const serverProperties = readTable(r);
  const mechanisms = r.longstr();
  const locales = r.longstr();
  return { versionMajor, versionMinor, serverProperties, mechanisms, locales };
}

function decodeConnectionStartOk(r: ByteReader): ConnectionStartOkArgs {
  const clientProperties = readTable(r);
  const mechanism = r.shortstr();
  const response = r.longstr();
  const locale = r.shortstr();
  return { clientProperties, mechanism, response, locale };
}

function decodeConnectionSecure(r: ByteReader): ConnectionSecureArgs {
  const challenge = r.longstr();
  return { challenge };
}

function decodeConnectionSecureOk(r: ByteReader): ConnectionSecureOkArgs {
  const response = r.longstr();
  return { response };
}

function decodeConnectionTune(r: ByteReader): ConnectionTuneArgs {
  const channelMax = r.short();
  const frameMax = r.long();
  const heartbeat = r.short();
  return { channelMax, frameMax, heartbeat };
}

function decodeConnectionTuneOk(r: ByteReader): ConnectionTuneOkArgs {
  const channelMax = r.short();
  const frameMax = r.long();
  const heartbeat = r.short();
  return { channelMax, frameMax, heartbeat };
}

function decodeConnectionOpen(r: ByteReader): ConnectionOpenArgs {
  const virtualHost = r.shortstr();
  const capabilities = r.shortstr();
  const bits2 = r.octet();
  const insist = (bits2 & 1) !== 0;
  return { virtualHost, capabilities, insist };
}

function decodeConnectionOpenOk(r: ByteReader): ConnectionOpenOkArgs {
  const knownHosts = r.shortstr();
  return { knownHosts };
}

function decodeConnectionClose(r: ByteReader): ConnectionCloseArgs {
  const replyCode = r.short();
  const replyText = r.shortstr();
  const classId = r.short();
  const methodId = r.short();
  return { replyCode, replyText, classId, methodId };
}

function decodeConnectionCloseOk(_r: ByteReader): ConnectionCloseOkArgs {
  return {  };
}

function decodeConnectionBlocked(r: ByteReader): ConnectionBlockedArgs {
  const reason = r.shortstr();
  return { reason };
}

function decodeConnectionUnblocked(_r: ByteReader): ConnectionUnblockedArgs {
  return {  };
}

function decodeConnectionUpdateSecret(r: ByteReader): ConnectionUpdateSecretArgs {
  const newSecret = r.longstr();
  const reason = r.shortstr();
  return { newSecret, reason };
}

function decodeConnectionUpdateSecretOk(_r: ByteReader): ConnectionUpdateSecretOkArgs {
  return {  };
}

function decodeChannelOpen(r: ByteReader): ChannelOpenArgs {
  const outOfBand = r.shortstr();
  return { outOfBand };
}

function decodeChannelOpenOk(r: ByteReader): ChannelOpenOkArgs {
  const channelId = r.longstr();
  return { channelId };
}

function decodeChannelFlow(r: ByteReader): ChannelFlowArgs {
  const bits0 = r.octet();
  const active = (bits0 & 1) !== 0;
  return { active };
}

function decodeChannelFlowOk(r: ByteReader): ChannelFlowOkArgs {
  const bits0 = r.octet();
  const active = (bits0 & 1) !== 0;
  return { active };
}

function decodeChannelClose(r: ByteReader): ChannelCloseArgs {
  const replyCode = r.short();
  const replyText = r.shortstr();
  const classId = r.short();
  const methodId = r.short();
  return { replyCode, replyText, classId, methodId };
}

function decodeChannelCloseOk(_r: ByteReader): ChannelCloseOkArgs {
  return {  };
}

function decodeAccessRequest(r: ByteReader): AccessRequestArgs {
  const realm = r.shortstr();
  const bits1 = r.octet();
  const exclusive = (bits1 & 1) !== 0;
  const passive = (bits1 & 2) !== 0;
  const active = (bits1 & 4) !== 0;
  const write = (bits1 & 8) !== 0;
  const read = (bits1 & 16) !== 0;
  return { realm, exclusive, passive, active, write, read };
}

function decodeAccessRequestOk(r: ByteReader): AccessRequestOkArgs {
  r.skip(2);
  return {  };
}

function decodeExchangeDeclare(r: ByteReader): ExchangeDeclareArgs {
  r.skip(2);
  const exchange = r.shortstr();
  const type = r.shortstr();
  const bits3 = r.octet();
  const passive = (bits3 & 1) !== 0;
  const durable = (bits3 & 2) !== 0;
  const autoDelete = (bits3 & 4) !== 0;
  const internal = (bits3 & 8) !== 0;
  const nowait = (bits3 & 16) !== 0;
  const table = readTable(r);
  return { exchange, type, passive, durable, autoDelete, internal, nowait, arguments: table };
}

function decodeExchangeDeclareOk(_r: ByteReader): ExchangeDeclareOkArgs {
  return {  };
}

function decodeExchangeDelete(r: ByteReader): ExchangeDeleteArgs {
  r.skip(2);
  const exchange = r.shortstr();
  const bits2 = r.octet();
  const ifUnused = (bits2 & 1) !== 0;
  const nowait = (bits2 & 2) !== 0;
  return { exchange, ifUnused, nowait };
}

function decodeExchangeDeleteOk(_r: ByteReader): ExchangeDeleteOkArgs {
  return {  };
}

function decodeExchangeBind(r: ByteReader): ExchangeBindArgs {
  r.skip(2);
  const destination = r.shortstr();
  const source = r.shortstr();
  const routingKey = r.shortstr();
  const bits4 = r.octet();
  const nowait = (bits4 & 1) !== 0;
  const table = readTable(r);
  return { destination, source, routingKey, nowait, arguments: table };
}

function decodeExchangeBindOk(_r: ByteReader): ExchangeBindOkArgs {
  return {  };
}

function decodeExchangeUnbind(r: ByteReader): ExchangeUnbindArgs {
  r.skip(2);
  const destination = r.shortstr();
  const source = r.shortstr();
  const routingKey = r.shortstr();
  const bits4 = r.octet();
  const nowait = (bits4 & 1) !== 0;
  const table = readTable(r);
  return { destination, source, routingKey, nowait, arguments: table };
}

function decodeExchangeUnbindOk(_r: ByteReader): ExchangeUnbindOkArgs {
  return {  };
}

function decodeQueueDeclare(r: ByteReader): QueueDeclareArgs {
  r.skip(2);
  const queue = r.shortstr();
  const bits2 = r.octet();
  const passive = (bits2 & 1) !== 0;
  const durable = (bits2 & 2) !== 0;
  const exclusive = (bits2 & 4) !== 0;
  const autoDelete = (bits2 & 8) !== 0;
  const nowait = (bits2 & 16) !== 0;
  const table = readTable(r);
  return { queue, passive, durable, exclusive, autoDelete, nowait, arguments: table };
}

function decodeQueueDeclareOk(r: ByteReader): QueueDeclareOkArgs {
  const queue = r.shortstr();
  const messageCount = r.long();
  const consumerCount = r.long();
  return { queue, messageCount, consumerCount };
}

function decodeQueueBind(r: ByteReader): QueueBindArgs {
  r.skip(2);
  const queue = r.shortstr();
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const bits4 = r.octet();
  const nowait = (bits4 & 1) !== 0;
  const table = readTable(r);
  return { queue, exchange, routingKey, nowait, arguments: table };
}

function decodeQueueBindOk(_r: ByteReader): QueueBindOkArgs {
  return {  };
}

function decodeQueuePurge(r: ByteReader): QueuePurgeArgs {
  r.skip(2);
  const queue = r.shortstr();
  const bits2 = r.octet();
  const nowait = (bits2 & 1) !== 0;
  return { queue, nowait };
}

function decodeQueuePurgeOk(r: ByteReader): QueuePurgeOkArgs {
  const messageCount = r.long();
  return { messageCount };
}

function decodeQueueDelete(r: ByteReader): QueueDeleteArgs {
  r.skip(2);
  const queue = r.shortstr();
  const bits2 = r.octet();
  const ifUnused = (bits2 & 1) !== 0;
  const ifEmpty = (bits2 & 2) !== 0;
  const nowait = (bits2 & 4) !== 0;
  return { queue, ifUnused, ifEmpty, nowait };
}

function decodeQueueDeleteOk(r: ByteReader): QueueDeleteOkArgs {
  const messageCount = r.long();
  return { messageCount };
}

function decodeQueueUnbind(r: ByteReader): QueueUnbindArgs {
  r.skip(2);
  const queue = r.shortstr();
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const table = readTable(r);
  return { queue, exchange, routingKey, arguments: table };
}

function decodeQueueUnbindOk(_r: ByteReader): QueueUnbindOkArgs {
  return {  };
}

function decodeBasicQos(r: ByteReader): BasicQosArgs {
  const prefetchSize = r.long();
  const prefetchCount = r.short();
  const bits2 = r.octet();
  const global = (bits2 & 1) !== 0;
  return { prefetchSize, prefetchCount, global };
}

function decodeBasicQosOk(_r: ByteReader): BasicQosOkArgs {
  return {  };
}

function decodeBasicConsume(r: ByteReader): BasicConsumeArgs {
  r.skip(2);
  const queue = r.shortstr();
  const consumerTag = r.shortstr();
  const bits3 = r.octet();
  const noLocal = (bits3 & 1) !== 0;
  const noAck = (bits3 & 2) !== 0;
  const exclusive = (bits3 & 4) !== 0;
  const nowait = (bits3 & 8) !== 0;
  const table = readTable(r);
  return { queue, consumerTag, noLocal, noAck, exclusive, nowait, arguments: table };
}

function decodeBasicConsumeOk(r: ByteReader): BasicConsumeOkArgs {
  const consumerTag = r.shortstr();
  return { consumerTag };
}

function decodeBasicCancel(r: ByteReader): BasicCancelArgs {
  const consumerTag = r.shortstr();
  const bits1 = r.octet();
  const nowait = (bits1 & 1) !== 0;
  return { consumerTag, nowait };
}

function decodeBasicCancelOk(r: ByteReader): BasicCancelOkArgs {
  const consumerTag = r.shortstr();
  return { consumerTag };
}

function decodeBasicPublish(r: ByteReader): BasicPublishArgs {
  r.skip(2);
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const bits3 = r.octet();
  const mandatory = (bits3 & 1) !== 0;
  const immediate = (bits3 & 2) !== 0;
  return { exchange, routingKey, mandatory, immediate };
}

function decodeBasicReturn(r: ByteReader): BasicReturnArgs {
  const replyCode = r.short();
  const replyText = r.shortstr();
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  return { replyCode, replyText, exchange, routingKey };
}

function decodeBasicDeliver(r: ByteReader): BasicDeliverArgs {
  const consumerTag = r.shortstr();
  const deliveryTag = r.longlong();
  const bits2 = r.octet();
  const redelivered = (bits2 & 1) !== 0;
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  return { consumerTag, deliveryTag, redelivered, exchange, routingKey };
}

function decodeBasicGet(r: ByteReader): BasicGetArgs {
  r.skip(2);
  const queue = r.shortstr();
  const bits2 = r.octet();
  const noAck = (bits2 & 1) !== 0;
  return { queue, noAck };
}

function decodeBasicGetOk(r: ByteReader): BasicGetOkArgs {
  const deliveryTag = r.longlong();
  const bits1 = r.octet();
  const redelivered = (bits1 & 1) !== 0;
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const messageCount = r.long();
  return { deliveryTag, redelivered, exchange, routingKey, messageCount };
}

function decodeBasicGetEmpty(r: ByteReader): BasicGetEmptyArgs {
  const clusterId = r.shortstr();
  return { clusterId };
}

function decodeBasicAck(r: ByteReader): BasicAckArgs {
  const deliveryTag = r.longlong();
  const bits1 = r.octet();
  const multiple = (bits1 & 1) !== 0;
  return { deliveryTag, multiple };
}

function decodeBasicReject(r: ByteReader): BasicRejectArgs {
  const deliveryTag = r.longlong();
  const bits1 = r.octet();
  const requeue = (bits1 & 1) !== 0;
  return { deliveryTag, requeue };
}

function decodeBasicRecoverAsync(r: ByteReader): BasicRecoverAsyncArgs {
  const bits0 = r.octet();
  const requeue = (bits0 & 1) !== 0;
  return { requeue };
}

function decodeBasicRecover(r: ByteReader): BasicRecoverArgs {
  const bits0 = r.octet();
  const requeue = (bits0 & 1) !== 0;
  return { requeue };
}

function decodeBasicRecoverOk(_r: ByteReader): BasicRecoverOkArgs {
  return {  };
}

function decodeBasicNack(r: ByteReader): BasicNackArgs {
  const deliveryTag = r.longlong();
  const bits1 = r.octet();
  const multiple = (bits1 & 1) !== 0;
  const requeue = (bits1 & 2) !== 0;
  return { deliveryTag, multiple, requeue };
}

function decodeTxSelect(_r: ByteReader): TxSelectArgs {
  return {  };
}

function decodeTxSelectOk(_r: ByteReader): TxSelectOkArgs {
  return {  };
}

function decodeTxCommit(_r: ByteReader): TxCommitArgs {
  return {  };
}

function decodeTxCommitOk(_r: ByteReader): TxCommitOkArgs {
  return {  };
}

function decodeTxRollback(_r: ByteReader): TxRollbackArgs {
  return {  };
}

function decodeTxRollbackOk(_r: ByteReader): TxRollbackOkArgs {
  return {  };
}

function decodeConfirmSelect(r: ByteReader): ConfirmSelectArgs {
  const bits0 = r.octet();
  const nowait = (bits0 & 1) !== 0;
  return { nowait };
}

function decodeConfirmSelectOk(_r: ByteReader): ConfirmSelectOkArgs {
  return {  };
}

/** Decodes a method payload (class id, method id, arguments). */
export function decodeMethod(r: ByteReader): Method {
  const id = r.long();
  switch (id) {
    case 0x000a000a:
      return { name: 'connection.start', args: decodeConnectionStart(r) };
    case 0x000a000b:
      return { name: 'connection.start-ok', args: decodeConnectionStartOk(r) };
    case 0x000a0014:
      return { name: 'connection.secure', args: decodeConnectionSecure(r) };
    case 0x000a0015:
      return { name: 'connection.secure-ok', args: decodeConnectionSecureOk(r) };
    case 0x000a001e:
      return { name: 'connection.tune', args: decodeConnectionTune(r) };
    case 0x000a001f:
      return { name: 'connection.tune-ok', args: decodeConnectionTuneOk(r) };
    case 0x000a0028:
      return { name: 'connection.open', args: decodeConnectionOpen(r) };
    case 0x000a0029:
      return { name: 'connection.open-ok', args: decodeConnectionOpenOk(r) };
    case 0x000a0032:
      return { name: 'connection.close', args: decodeConnectionClose(r) };
    case 0x000a0033:
      return { name: 'connection.close-ok', args: decodeConnectionCloseOk(r) };
    case 0x000a003c:
      return { name: 'connection.blocked', args: decodeConnectionBlocked(r) };
    case 0x000a003d:
      return { name: 'connection.unblocked', args: decodeConnectionUnblocked(r) };
    case 0x000a0046:
      return { name: 'connection.update-secret', args: decodeConnectionUpdateSecret(r) };
    case 0x000a0047:
      return { name: 'connection.update-secret-ok', args: decodeConnectionUpdateSecretOk(r) };
    case 0x0014000a:
      return { name: 'channel.open', args: decodeChannelOpen(r) };
    case 0x0014000b:
      return { name: 'channel.open-ok', args: decodeChannelOpenOk(r) };
    case 0x00140014:
      return { name: 'channel.flow', args: decodeChannelFlow(r) };
    case 0x00140015:
      return { name: 'channel.flow-ok', args: decodeChannelFlowOk(r) };
    case 0x00140028:
      return { name: 'channel.close', args: decodeChannelClose(r) };
    case 0x00140029:
      return { name: 'channel.close-ok', args: decodeChannelCloseOk(r) };
    case 0x001e000a:
      return { name: 'access.request', args: decodeAccessRequest(r) };
    case 0x001e000b:
      return { name: 'access.request-ok', args: decodeAccessRequestOk(r) };
    case 0x0028000a:
      return { name: 'exchange.declare', args: decodeExchangeDeclare(r) };
    case 0x0028000b:
      return { name: 'exchange.declare-ok', args: decodeExchangeDeclareOk(r) };
    case 0x00280014:
      return { name: 'exchange.delete', args: decodeExchangeDelete(r) };
    case 0x00280015:
      return { name: 'exchange.delete-ok', args: decodeExchangeDeleteOk(r) };
    case 0x0028001e:
      return { name: 'exchange.bind', args: decodeExchangeBind(r) };
    case 0x0028001f:
      return { name: 'exchange.bind-ok', args: decodeExchangeBindOk(r) };
    case 0x00280028:
      return { name: 'exchange.unbind', args: decodeExchangeUnbind(r) };
    case 0x00280033:
      return { name: 'exchange.unbind-ok', args: decodeExchangeUnbindOk(r) };
    case 0x0032000a:
      return { name: 'queue.declare', args: decodeQueueDeclare(r) };
    case 0x0032000b:
      return { name: 'queue.declare-ok', args: decodeQueueDeclareOk(r) };
    case 0x00320014:
      return { name: 'queue.bind', args: decodeQueueBind(r) };
    case 0x00320015:
      return { name: 'queue.bind-ok', args: decodeQueueBindOk(r) };
    case 0x0032001e:
      return { name: 'queue.purge', args: decodeQueuePurge(r) };
    case 0x0032001f:
      return { name: 'queue.purge-ok', args: decodeQueuePurgeOk(r) };
    case 0x00320028:
      return { name: 'queue.delete', args: decodeQueueDelete(r) };
    case 0x00320029:
      return { name: 'queue.delete-ok', args: decodeQueueDeleteOk(r) };
    case 0x00320032:
      return { name: 'queue.unbind', args: decodeQueueUnbind(r) };
    case 0x00320033:
      return { name: 'queue.unbind-ok', args: decodeQueueUnbindOk(r) };
    case 0x003c000a:
      return { name: 'basic.qos', args: decodeBasicQos(r) };
    case 0x003c000b:
      return { name: 'basic.qos-ok', args: decodeBasicQosOk(r) };
    case 0x003c0014:
      return { name: 'basic.consume', args: decodeBasicConsume(r) };
    case 0x003c0015:
      return { name: 'basic.consume-ok', args: decodeBasicConsumeOk(r) };
    case 0x003c001e:
      return { name: 'basic.cancel', args: decodeBasicCancel(r) };
    case 0x003c001f:
      return { name: 'basic.cancel-ok', args: decodeBasicCancelOk(r) };
    case 0x003c0028:
      return { name: 'basic.publish', args: decodeBasicPublish(r) };
    case 0x003c0032:
      return { name: 'basic.return', args: decodeBasicReturn(r) };
    case 0x003c003c:
      return { name: 'basic.deliver', args: decodeBasicDeliver(r) };
    case 0x003c0046:
      return { name: 'basic.get', args: decodeBasicGet(r) };
    case 0x003c0047:
      return { name: 'basic.get-ok', args: decodeBasicGetOk(r) };
    case 0x003c0048:
      return { name: 'basic.get-empty', args: decodeBasicGetEmpty(r) };
    case 0x003c0050:
      return { name: 'basic.ack', args: decodeBasicAck(r) };
    case 0x003c005a:
      return { name: 'basic.reject', args: decodeBasicReject(r) };
    case 0x003c0064:
      return { name: 'basic.recover-async', args: decodeBasicRecoverAsync(r) };
    case 0x003c006e:
      return { name: 'basic.recover', args: decodeBasicRecover(r) };
    case 0x003c006f:
      return { name: 'basic.recover-ok', args: decodeBasicRecoverOk(r) };
    case 0x003c0078:
      return { name: 'basic.nack', args: decodeBasicNack(r) };
    case 0x005a000a:
      return { name: 'tx.select', args: decodeTxSelect(r) };
    case 0x005a000b:
      return { name: 'tx.select-ok', args: decodeTxSelectOk(r) };
    case 0x005a0014:
      return { name: 'tx.commit', args: decodeTxCommit(r) };
    case 0x005a0015:
      return { name: 'tx.commit-ok', args: decodeTxCommitOk(r) };
    case 0x005a001e:
      return { name: 'tx.rollback', args: decodeTxRollback(r) };
    case 0x005a001f:
      return { name: 'tx.rollback-ok', args: decodeTxRollbackOk(r) };
    case 0x0055000a:
      return { name: 'confirm.select', args: decodeConfirmSelect(r) };
    case 0x0055000b:
      return { name: 'confirm.select-ok', args: decodeConfirmSelectOk(r) };
    default:
      throw new ProtocolError('NOT_IMPLEMENTED', `unknown method ${id >>> 16}.${id & 0xffff}`);
  }
}

/** The 14 properties of a basic-class message, camelCase; each is optional. */
export interface BasicProperties {
  /** MIME type of the body, such as `application/json`. */
  contentType?: string | undefined;
  /** Encoding applied to the body, such as `gzip`. */
  contentEncoding?: string | undefined;
  /** Application headers; the headers exchange routes on these. */
  headers?: FieldTable | undefined;
  /** 1 for transient, 2 for persistent (written to disk by durable queues). */
  deliveryMode?: number | undefined;
  /** Priority from 0 to 255; queues declared with `x-max-priority` honour it. */
  priority?: number | undefined;
  /** Ties a reply to its request. */
  correlationId?: string | undefined;
  /** Where the receiver should send a reply: a queue name or `amq.rabbitmq.reply-to`. */
  replyTo?: string | undefined;
  /** Per-message TTL in milliseconds, as a decimal string such as `"60000"`. */
  expiration?: string | undefined;
  /** An application-chosen identifier for the message. */
  messageId?: string | undefined;
  /** When the message was made; whole seconds on the wire. */
  timestamp?: Date | undefined;
  /** An application-chosen name for the kind of message. */
  type?: string | undefined;
  /** The publishing user; RabbitMQ refuses a message whose user-id is not the connection's user. */
  userId?: string | undefined;
  /** The publishing application. */
  appId?: string | undefined;
  /** Deprecated by AMQP 0-9-1; carried as given. */
  clusterId?: string | undefined;
}

/** Writes the property flags and the properties that are set. */
export function encodeBasicProperties(w: ByteWriter, p: BasicProperties): void {
  // Each property is read once: objects of many shapes come here, and a read from an object
  // of a shape the function has not seen before is slow.
  const { contentType, contentEncoding, headers, deliveryMode, priority, correlationId, replyTo, expiration, messageId, timestamp, type, userId, appId, clusterId } = p;
  let flags = 0;
  if (contentType !== undefined) flags |= 0x8000;
  if (contentEncoding !== undefined) flags |= 0x4000;
  if (headers !== undefined) flags |= 0x2000;
  if (deliveryMode !== undefined) flags |= 0x1000;
  if (priority !== undefined) flags |= 0x0800;
  if (correlationId !== undefined) flags |= 0x0400;
  if (replyTo !== undefined) flags |= 0x0200;
  if (expiration !== undefined) flags |= 0x0100;
  if (messageId !== undefined) flags |= 0x0080;
  if (timestamp !== undefined) flags |= 0x0040;
  if (type !== undefined) flags |= 0x0020;
  if (userId !== undefined) flags |= 0x0010;
  if (appId !== undefined) flags |= 0x0008;
  if (clusterId !== undefined) flags |= 0x0004;
  w.short(flags, 'property flags');
  if (contentType !== undefined) w.shortstr(contentType, 'contentType');
  if (contentEncoding !== undefined) w.shortstr(contentEncoding, 'contentEncoding');
  if (headers !== undefined) writeTable(w, headers, 'headers');
  if (deliveryMode !== undefined) w.octet(deliveryMode, 'deliveryMode');
  if (priority !== undefined) w.octet(priority, 'priority');
  if (correlationId !== undefined) w.shortstr(correlationId, 'correlationId');
  if (replyTo !== undefined) w.shortstr(replyTo, 'replyTo');
  if (expiration !== undefined) w.shortstr(expiration, 'expiration');
  if (messageId !== undefined) w.shortstr(messageId, 'messageId');
  if (timestamp !== undefined) w.timestamp(timestamp, 'timestamp');
  if (type !== undefined) w.shortstr(type, 'type');
  if (userId !== undefined) w.shortstr(userId, 'userId');
  if (appId !== undefined) w.shortstr(appId, 'appId');
  if (clusterId !== undefined) w.shortstr(clusterId, 'clusterId');
}

/** Reads the property flags and the properties they announce. */
export function decodeBasicProperties(r: ByteReader): BasicProperties {
  const flags = r.short();
  // Bit 0 announces another flags word; basic has no properties for one to flag.
  let next = flags & 0x0003;
  while (next !== 0) {
    if ((next & 0xfffe) !== 0) {
      throw new ProtocolError('SYNTAX_ERROR', 'content header flags a property that basic does not have');
    }
    next = r.short();
  }
  const p: BasicProperties = {};
  if ((flags & 0x8000) !== 0) p.contentType = r.shortstr();
  if ((flags & 0x4000) !== 0) p.contentEncoding = r.shortstr();
  if ((flags & 0x2000) !== 0) p.headers = readTable(r);
  if ((flags & 0x1000) !== 0) p.deliveryMode = r.octet();
  if ((flags & 0x0800) !== 0) p.priority = r.octet();
  if ((flags & 0x0400) !== 0) p.correlationId = r.shortstr();
  if ((flags & 0x0200) !== 0) p.replyTo = r.shortstr();
  if ((flags & 0x0100) !== 0) p.expiration = r.shortstr();
  if ((flags & 0x0080) !== 0) p.messageId = r.shortstr();
  if ((flags & 0x0040) !== 0) p.timestamp = r.timestamp();
  if ((flags & 0x0020) !== 0) p.type = r.shortstr();
  if ((flags & 0x0010) !== 0) p.userId = r.shortstr();
  if ((flags & 0x0008) !== 0) p.appId = r.shortstr();
  if ((flags & 0x0004) !== 0) p.clusterId = r.shortstr();
  return p;
}
