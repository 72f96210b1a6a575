/** The equity service process: the kit's service main with its parts and settings. */
import { runServiceMain } from '@sizhong/kit';
import { equityConfigShape } from './config';
import { equityService } from './equity-service';

runServiceMain(equityService, equityConfigShape);
