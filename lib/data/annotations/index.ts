export { formatIssue, type Annotation, type AnnotationIssue, type Subset, type VideoEntry } from './types.js';
export { readUcf101, readClassInd, type Ucf101Options } from './ucf101.js';
export { readHmdb51, type Hmdb51Options } from './hmdb51.js';
export { readKinetics, csvFields, type KineticsOptions } from './kinetics.js';
export { readSsv2, type Ssv2Options } from './ssv2.js';
export { readVideoList, type ListOptions } from './list.js';
