import { ServiceBusClient } from '@azure/service-bus';
import { ServiceBusBroker } from '../servicebus-broker';
async function main() {
  const t0 = Date.now();
  const own = await ServiceBusBroker.start({ port: 0 });
  const c = new ServiceBusClient(own.connectionString());
  await c.createSender('q').sendMessages({ body: 1 });
  console.log('sent', Date.now() - t0);
  await own.stop();

  console.log('stopped', Date.now() - t0);
  await c.close();
  console.log('closed', Date.now() - t0);
}
main();
