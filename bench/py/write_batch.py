"""h5py baseline of bench/batch-writing.ts: a round writes the samples in veda's batch layout, then fsyncs."""
import json
import os
from datetime import datetime, timezone

import h5py
import numpy as np

from harness import serve

TABLE_CHUNK_ROWS = 1024  # veda's chunk rows for the small per-sample tables


def setup(job):
    images = np.fromfile(job['images'], dtype=np.uint8).reshape(job['shape'])
    return {
        'images': images,
        'labels': np.asarray(job['labels'], dtype=np.uint8),
        'windows': np.asarray(job['windows'], dtype=np.int32),
        'ids': job['ids'],
        'sources': job['sources'],
        'classes': job['classes'],
    }


def write_round(data, job):
    images = data['images']
    n = len(images)
    gzip = {'compression': 'gzip', 'compression_opts': job['compression']} if job['compression'] else {}
    strings = h5py.string_dtype('utf-8')
    with h5py.File(job['path'], 'w', track_order=True) as f:
        group = f.create_group('train')
        group.create_dataset('images', data=images, chunks=(1, *images.shape[1:]), **gzip)
        group.create_dataset('labels', data=data['labels'], chunks=(min(n, TABLE_CHUNK_ROWS), data['labels'].shape[1]))
        group.create_dataset('windows', data=data['windows'], chunks=(min(n, TABLE_CHUNK_ROWS), 4))
        group.create_dataset('ids', data=data['ids'], dtype=strings)
        group.create_dataset('sources', data=data['sources'], dtype=strings)
        f.attrs['dataset'] = json.dumps({'name': 'bench'})
        f.attrs['classes'] = json.dumps(data['classes'])
        f.attrs['ml_type'] = 'classification'
        f.attrs['seed'] = np.int64(0)
        f.attrs['inputs'] = '{}'
        f.attrs['groups'] = json.dumps(['train'])
        f.attrs['veda_layout_version'] = np.int32(1)
        f.attrs['created_at'] = datetime.now(timezone.utc).isoformat()
    fd = os.open(job['path'], os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


serve(setup, write_round)
