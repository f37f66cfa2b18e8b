// Settings › Services: the form becomes a services.add argument the contract accepts.
import { describe, expect, it } from 'vitest';
import { serviceInput } from '../../src/renderer/src/pages/ServiceSettings';
import { usageArgs } from '../../src/core/api/usage';
import { serviceDefinition } from '../../src/handlers/usage';
import { checkServiceDefinition } from '../../src/storage/repos/services';

describe('Settings › Services form', () => {
  it('a unique_count service with a value property and group-by passes the contract and the registry', () => {
    const input = serviceInput({
      name: 'mau',
      unit: 'users',
      kind: 'unique',
      field: 'user_id',
      valueProperty: '',
      groupBy: 'plan, region',
    });
    const parsed = usageArgs['services.add'].parse({ service: input });
    const def = serviceDefinition(parsed.service!);
    expect(() => checkServiceDefinition(def)).not.toThrow();
    expect([def.aggregation, def.aggregationField, def.groupBy]).toEqual(['unique_count', 'user_id', ['plan', 'region']]);
    const tokens = serviceDefinition(
      serviceInput({ name: 'tokens', unit: 'tokens', kind: 'sum', field: '', valueProperty: '$.usage.tokens', groupBy: '' }),
    );
    expect([tokens.aggregation, tokens.valueProperty]).toEqual(['sum', '$.usage.tokens']);
  });
});
