/** The credit service process: the kit's service main with its parts and settings. */
import { runServiceMain } from '@sizhong/kit';
import { creditConfigShape } from './config';
import { creditService } from './credit-service';

runServiceMain(creditService, creditConfigShape);
