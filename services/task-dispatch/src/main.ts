/** The task-dispatch service process: the kit's service main with its parts and settings. */
import { runServiceMain } from '@sizhong/kit';
import { taskDispatchConfigShape } from './config';
import { taskDispatchService } from './task-dispatch-service';

runServiceMain(taskDispatchService, taskDispatchConfigShape);
