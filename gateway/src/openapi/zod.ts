/**
 * zod with the `.openapi()` extension applied. Gateway modules import `z` from here, never from
 * 'zod' directly, so the extension is in place before any schema is built, whatever the import order.
 */
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
