/**
 * The invoice lookup tool of the telecom example team's billing worker: a module tool, as a team
 * of one's own declares it (`tools: [{ module: ./tools/invoices.ts, export: lookupInvoice }]`).
 * Its invoices are sample data, so the example runs offline; a real team's tool would call the
 * billing system here.
 */
import { defineTool } from '../../functions/tools/tool.ts';

interface Invoice {
  invoiceId: string;
  period: string;
  total: string;
  charges: { description: string; amount: string }[];
  paid: string;
}

const SAMPLE_INVOICES: readonly Invoice[] = [
  {
    invoiceId: 'INV-1042',
    period: 'October',
    total: '€45.00',
    charges: [
      { description: 'Monthly plan', amount: '€45.00' },
      { description: 'Monthly plan (duplicate charge)', amount: '€45.00' },
    ],
    paid: '€90.00',
  },
  { invoiceId: 'INV-1043', period: 'November', total: '€45.00', charges: [{ description: 'Monthly plan', amount: '€45.00' }], paid: '€0.00' },
];

export const lookupInvoice = defineTool<{ invoiceId: string }>({
  name: 'lookup_invoice',
  description: 'The charges, total and payments of one invoice, by its id (INV- and four digits).',
  inputSchema: {
    type: 'object',
    properties: { invoiceId: { type: 'string', pattern: '^INV-[0-9]{4}$', description: 'The invoice id, e.g. INV-1042' } },
    required: ['invoiceId'],
    additionalProperties: false,
  },
  run: ({ invoiceId }) => {
    const invoice = SAMPLE_INVOICES.find((candidate) => candidate.invoiceId === invoiceId);
    if (!invoice) throw new Error(`no invoice ${invoiceId}`);
    return invoice;
  },
});
