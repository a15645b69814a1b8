"""PyTorch Datasets over a veda batch (HDF5), one per ML type. README.md shows this file; test/torch-datasets.test.ts
runs it with h5py and numpy (and a stand-in for torch, which it does not need to install)."""
import json

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset


class VedaBatch(Dataset):
    """One group (`train`, `test`, ...) of a veda batch file. The file is opened in each DataLoader worker."""

    def __init__(self, path, group='train'):
        self.path, self.group, self.h5 = path, group, None
        with h5py.File(path, 'r') as f:
            self.length = len(f[group]['images'])
            self.classes = json.loads(f.attrs['classes'])

    def __len__(self):
        return self.length

    def data(self):
        if self.h5 is None:  # not in __init__: an h5py file does not survive fork into a worker
            self.h5 = h5py.File(self.path, 'r')
        return self.h5[self.group]

    def image(self, i):
        return torch.from_numpy(self.data()['images'][i].astype(np.float32))  # [bands, h, w]


class VedaClassification(VedaBatch):
    def __getitem__(self, i):  # image, one-hot float32 [classes] (BCEWithLogitsLoss)
        return self.image(i), torch.from_numpy(self.data()['labels'][i].astype(np.float32))


class VedaSegmentation(VedaBatch):
    def __getitem__(self, i):  # image, int64 mask [h, w]: 0 background, i + 1 class i (CrossEntropyLoss)
        return self.image(i), torch.from_numpy(self.data()['labels'][i].astype(np.int64))


class VedaDetection(VedaBatch):
    def __getitem__(self, i):  # image, torchvision target; DataLoader(..., collate_fn=lambda b: tuple(zip(*b)))
        g = self.data()
        start, end = g['box_offsets'][i], g['box_offsets'][i + 1]  # this sample's rows of boxes / box_class
        return self.image(i), {
            'boxes': torch.from_numpy(g['boxes'][start:end]),  # float32 [k, 4]: minx, miny, maxx, maxy (pixels)
            'labels': torch.from_numpy(g['box_class'][start:end].astype(np.int64) + 1),  # torchvision: 0 is background
        }
