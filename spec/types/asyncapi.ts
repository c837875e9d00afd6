/**
 * The AsyncAPI export, as a user of the package writes it, checked by the
 * compiler against dist/index.d.ts (`npm run test:types`): the document is
 * typed part by part, passes where a tool takes a `Record<string, unknown>`,
 * and the options take only what they know. Nothing here runs; each
 * `@ts-expect-error` must meet an error.
 */
import {
  type AsyncApiDocument,
  type AsyncApiMessage,
  asyncApi,
  asyncApiJson,
  asyncApiYaml,
  defineContract,
  defineMessage,
  definePublisher,
  defineQueue,
  type JsonObject,
  type MessageJsonSchema,
  messageJsonSchema,
} from 'warren';
import { z } from 'zod';

const jobs = defineQueue('jobs');
const job = defineMessage('job', z.object({ id: z.int() }));
const contract = defineContract({
  queues: { jobs },
  publishers: { submit: definePublisher(jobs, job) },
});

const document: AsyncApiDocument = asyncApi(contract, {
  servers: { production: 'amqps://broker.example.com/shop', local: new URL('amqp://localhost') },
  vhost: 'shop',
});
const asTool: Record<string, unknown> = document;
const action: 'send' | 'receive' | undefined = document.operations.submit?.action;
const message: AsyncApiMessage | undefined = document.components.messages.job;
const payload: JsonObject | undefined = message?.payload;
const text: string = asyncApiJson(contract) + asyncApiYaml(contract, { vhost: '/' });
const schema: MessageJsonSchema = messageJsonSchema(job.schema, { base: '#/x' });
const pointer: string | undefined = schema.notes[0]?.pointer;

// @ts-expect-error an option asyncApi does not know
asyncApi(contract, { server: 'amqp://localhost' });
// @ts-expect-error a server is a URL, not a number
asyncApi(contract, { servers: { production: 5672 } });
// @ts-expect-error the document is read-only
document.asyncapi = '3.0.0';

export { action, asTool, payload, pointer, text };
