import { describe, expect, it } from 'vitest';
import type { QueueFunctionDef, ReceivedMessage } from '../../shared/function-table';
import { invokeQueueFunction } from '../../shared/platform/invoke-queue-function';
import type { Settlement } from '../../shared/platform/jobs';

const silent = { info: () => {}, warn: () => {}, error: () => {} };
const message: ReceivedMessage = { messageId: 'm-1', body: {}, deliveryCount: 0, applicationProperties: {} };

function recording() {
  const actions: string[] = [];
  const settlement: Settlement = {
    complete: async () => void actions.push('complete'),
    abandon: async () => void actions.push('abandon'),
    deadLetter: async (reason) => void actions.push(`deadLetter:${reason}`),
  };
  const exceptions: Array<{ error: unknown; properties?: Record<string, string> }> = [];
  return {
    actions,
    settlement,
    exceptions,
    telemetry: { exception: (error: unknown, properties?: Record<string, string>) => void exceptions.push({ error, properties }) },
  };
}

const def = (handler: QueueFunctionDef['handler']): QueueFunctionDef => ({ kind: 'queue', name: 'jobs-odoo-sync', queue: 'odoo-sync', handler });

describe('invokeQueueFunction', () => {
  it('completes a message the handler returned from without settling', async () => {
    const { actions, settlement, exceptions, telemetry } = recording();
    await invokeQueueFunction(
      def(async () => {}),
      message,
      settlement,
      silent,
      telemetry,
    );
    expect(actions).toEqual(['complete']);
    expect(exceptions).toEqual([]);
  });

  it('abandons the message of a handler that threw, and reports the failure as an exception', async () => {
    const { actions, settlement, exceptions, telemetry } = recording();
    const failure = new Error('table storage read failed');
    await invokeQueueFunction(
      def(async () => Promise.reject(failure)),
      message,
      settlement,
      silent,
      telemetry,
    );
    expect(actions).toEqual(['abandon']);
    expect(exceptions).toEqual([{ error: failure, properties: { function: 'jobs-odoo-sync', messageId: 'm-1' } }]);
  });

  it('never settles twice: a handler that settled and then threw keeps its own settlement', async () => {
    const { actions, settlement, telemetry } = recording();
    await invokeQueueFunction(
      def(async (_message, settle) => {
        await settle.deadLetter('PermanentError', 'bad');
        throw new Error('after settling');
      }),
      message,
      settlement,
      silent,
      telemetry,
    );
    expect(actions).toEqual(['deadLetter:PermanentError']);
  });
});
