/** The escrow service process: the kit's service main with escrow's parts and settings. */
import { runServiceMain } from '@sizhong/kit';
import { escrowConfigShape } from './config';
import { escrowService } from './escrow-service';

runServiceMain(escrowService, escrowConfigShape);
