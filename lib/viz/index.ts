export { encodePng } from './png.js';
export { encodeGif } from './gif.js';
export { Raster, heat, textWidth, labelWidth, labelHeight, type RGB } from './raster.js';
export { renderFigure, reconstructionRows, type Figure, type FigureInput } from './figure.js';
export { visualize, pretrainCheckpoint, type VisualizeOptions, type VisualizeResult } from './visualize.js';
export { barChart, lineChart, type BarPanel } from './chart.js';
